package io.pgloom.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * One line of {@code [peers]}: another PgBouncer process that cancel requests may be forwarded
 * to: a CancelRequest whose key carries this peer's id goes to {@code host}:{@code port}, or to the
 * Unix socket {@code host/.s.PGSQL.port} when {@code host} starts with {@code /}.
 *
 * @param port     6432 unless written, as in PgBouncer
 * @param poolSize how many cancels may be forwarded to this peer at once; default_pool_size unless written
 * @param location "file:line" of the entry
 */
public record PeerEntry(int id, String host, int port, OptionalInt poolSize, Map<String, String> raw,
                        String location) {

    public PeerEntry {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(poolSize, "poolSize");
        raw = Collections.unmodifiableMap(new LinkedHashMap<>(raw));
        Objects.requireNonNull(location, "location");
    }
}
