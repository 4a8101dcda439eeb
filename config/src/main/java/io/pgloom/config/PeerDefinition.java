package io.pgloom.config;

import java.util.Set;

/** Turns a {@code [peers]} line into a {@link PeerEntry}, refusing what PgBouncer refuses. */
final class PeerDefinition {

    private static final Set<String> KNOWN = Set.of("host", "port", "pool_size");

    private PeerDefinition() {
    }

    static PeerEntry parse(String id, String connectString, Location location) {
        int peerId;
        try {
            peerId = id.matches("\\d{1,5}") ? Integer.parseInt(id) : -1;
        } catch (NumberFormatException e) {
            peerId = -1;
        }
        if (peerId < 1 || peerId > 65535) {
            throw new IllegalArgumentException("peer ids must be numbers from 1 to 65535");
        }
        EntryParameters params = EntryParameters.parse(connectString, KNOWN);
        String host = params.string("host");
        if (host == null) {
            throw new IllegalArgumentException("no host");
        }
        int port = params.integer("port").orElse(6432);
        if (port < 1 || port > 65535) {
            throw EntryParameters.invalid("port", params.string("port"), "expected a port number from 1 to 65535");
        }
        return new PeerEntry(peerId, host, port, params.override("pool_size", 0), params.raw(), location.toString());
    }
}
