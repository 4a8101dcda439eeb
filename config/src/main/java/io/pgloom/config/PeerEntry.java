package io.pgloom.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * One line of {@code [peers]}: another PgBouncer process that cancel requests may be forwarded
 * to. pgloom reads and checks the section but does not forward yet (its cluster does that job).
 *
 * @param port     6432 unless written, as in PgBouncer
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
