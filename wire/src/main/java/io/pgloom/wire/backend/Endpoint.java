package io.pgloom.wire.backend;

import io.pgloom.config.DatabaseEntry;
import java.util.ArrayList;
import java.util.List;

/** A PostgreSQL host to connect to: a name or address, and a TCP port. */
public record Endpoint(String host, int port) {

    /**
     * The endpoints of a {@code [databases]} entry: each host of its {@code host=} list at its
     * port (the one {@code port=}, or the host's own from a list of them), in the list's order
     * (the order round-robin takes them in). An entry naming no host gets 127.0.0.1, since pgloom
     * does not reach servers over the Unix socket PgBouncer would use then.
     */
    public static List<Endpoint> of(DatabaseEntry db) {
        List<String> hosts = db.hosts().isEmpty() ? List.of("127.0.0.1") : db.hosts();
        List<Integer> ports = db.ports();
        List<Endpoint> endpoints = new ArrayList<>(hosts.size());
        for (int i = 0; i < hosts.size(); i++) {
            endpoints.add(new Endpoint(hosts.get(i), ports.get(Math.min(i, ports.size() - 1))));
        }
        return List.copyOf(endpoints);
    }

    /** {@code host:port}, as log lines and readiness messages name a server. */
    @Override
    public String toString() {
        return host + ":" + port;
    }
}
