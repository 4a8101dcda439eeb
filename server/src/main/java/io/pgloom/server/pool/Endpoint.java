package io.pgloom.server.pool;

import io.pgloom.config.DatabaseEntry;
import java.util.ArrayList;
import java.util.List;

/** One PostgreSQL a pool may connect to: a host of a database entry's {@code host=} list, at its {@code port=}. */
public record Endpoint(String host, int port) {
    /** The endpoints of {@code db}, in the order of its host list; 127.0.0.1 when it names none. */
    static List<Endpoint> of(DatabaseEntry db) {
        List<String> hosts = db.hosts().isEmpty() ? List.of("127.0.0.1") : db.hosts();
        List<Endpoint> endpoints = new ArrayList<>(hosts.size());
        for (String h : hosts) {
            endpoints.add(new Endpoint(h, db.port()));
        }
        return List.copyOf(endpoints);
    }

    @Override
    public String toString() {
        return host + ":" + port;
    }
}
