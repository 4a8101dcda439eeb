package io.pgloom.server.metrics;

import io.pgloom.config.DatabaseEntry;
import io.pgloom.server.DeadlineScope;
import io.pgloom.server.admin.ConsoleTables;
import io.pgloom.server.control.Pooler;
import io.pgloom.server.pool.PoolView;
import io.pgloom.wire.backend.BackendConnector;
import io.pgloom.wire.backend.BackendOptions;
import io.pgloom.wire.backend.Endpoint;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * What {@code GET /ready} answers: whether this pgloom should get new clients from a load balancer.
 * Ready means: not shutting down, not paused (globally or any database, as SHOW STATE and SHOW
 * DATABASES say), and every configured database has a reachable backend.
 *
 * <p>Reachability is judged cheaply: a database with a live server connection in any of its pools
 * is reachable (a server connection's reader notices a dead backend at once, so a live one is
 * current evidence). Otherwise pgloom tries a TCP connect to each of its hosts, with a
 * {@link #PROBE_TIMEOUT_MILLIS} timeout, and remembers the answer for {@link #PROBE_CACHE_NANOS}
 * so a probe every second from HAProxy and Kubernetes costs at most one connect per host per
 * few seconds. Probes of several hosts run at once, in one {@link DeadlineScope} round that
 * ends, and cancels what is still connecting, after twice the probe timeout.
 *
 * <p>Threading: called on the HTTP server's threads; the probe cache is a concurrent map.
 */
public final class Readiness {
    static final int PROBE_TIMEOUT_MILLIS = 1000;
    static final long PROBE_CACHE_NANOS = TimeUnit.SECONDS.toNanos(3);

    private record Probe(long atNanos, boolean reachable, String error) {
    }

    private final Pooler pooler;
    /** Only probes: a bare TCP connect uses none of the options. */
    private final BackendConnector connector = new BackendConnector(BackendOptions.DEFAULT);
    private final Map<Endpoint, Probe> probes = new ConcurrentHashMap<>();

    public Readiness(Pooler pooler) {
        this.pooler = pooler;
    }

    /** The HTTP status (200 or 503) and the JSON body. */
    public record Answer(int status, String json) {
    }

    public Answer check() {
        List<String> messages = new ArrayList<>();
        boolean shuttingDown = pooler.isShuttingDown();
        if (shuttingDown) {
            messages.add("pgloom is shutting down");
        }
        boolean paused = false;
        for (Map<String, Object> row : ConsoleTables.show(pooler, "STATE")) {
            if ("paused".equals(row.get("key")) && "yes".equals(row.get("value"))) {
                paused = true;
                messages.add("pgloom is paused");
            }
        }
        Map<String, Map<String, Object>> shown = new HashMap<>();
        for (Map<String, Object> row : ConsoleTables.show(pooler, "DATABASES")) {
            shown.put(String.valueOf(row.get("name")), row);
        }
        List<PoolView> pools = pooler.poolViews();
        Map<String, Integer> liveServers = new HashMap<>();
        int servers = 0;
        for (PoolView p : pools) {
            servers += p.servers().size();
            liveServers.merge(p.database(), p.servers().size(), Integer::sum);
        }
        List<DatabaseEntry> databases = pooler.config().databases().stream().filter(d -> !d.isFallback()).toList();
        Map<String, Probe> probed = probeAll(databases, liveServers);
        StringBuilder dbs = new StringBuilder("[");
        boolean allReachable = true;
        for (DatabaseEntry db : databases) {
            boolean live = liveServers.getOrDefault(db.name(), 0) > 0;
            Probe probe = live ? null : probed.get(db.name());
            boolean reachable = live || probe.reachable();
            Map<String, Object> row = shown.getOrDefault(db.name(), Map.of());
            boolean dbPaused = isSet(row.get("paused"));
            boolean dbDisabled = isSet(row.get("disabled"));
            if (!reachable) {
                allReachable = false;
                messages.add("no backend reachable for database " + db.name() + ": " + probe.error());
            }
            if (dbPaused) {
                paused = true;
                messages.add("database " + db.name() + " is paused");
            }
            if (dbs.length() > 1) {
                dbs.append(',');
            }
            dbs.append("{\"name\":").append(Json.string(db.name()))
                    .append(",\"reachable\":").append(reachable)
                    .append(",\"evidence\":").append(Json.string(live ? "server connection" : "tcp connect"))
                    .append(",\"paused\":").append(dbPaused)
                    .append(",\"disabled\":").append(dbDisabled).append('}');
        }
        dbs.append(']');
        boolean ready = !shuttingDown && !paused && allReachable;
        String json = "{\"status\":" + Json.string(ready ? "ready" : "not ready")
                + ",\"accepting_clients\":" + !shuttingDown
                + ",\"shutting_down\":" + shuttingDown
                + ",\"paused\":" + paused
                + ",\"pools\":" + pools.size()
                + ",\"clients\":" + pooler.clientCount()
                + ",\"servers\":" + servers
                + ",\"databases\":" + dbs
                + ",\"messages\":" + Json.strings(messages) + "}";
        return new Answer(ready ? 200 : 503, json);
    }

    private static boolean isSet(Object flag) {
        return flag instanceof Number n && n.intValue() != 0;
    }

    /** A probe result per database without a live server connection: reachable if any host answers. */
    private Map<String, Probe> probeAll(List<DatabaseEntry> databases, Map<String, Integer> liveServers) {
        Map<Endpoint, Callable<Probe>> due = new LinkedHashMap<>();
        for (DatabaseEntry db : databases) {
            if (liveServers.getOrDefault(db.name(), 0) > 0) {
                continue;
            }
            // The hosts a pool connects to: with no host=, that is 127.0.0.1, as for the pool itself.
            for (Endpoint endpoint : Endpoint.of(db)) {
                Probe cached = probes.get(endpoint);
                if (cached == null || System.nanoTime() - cached.atNanos() > PROBE_CACHE_NANOS) {
                    due.putIfAbsent(endpoint, () -> probe(endpoint));
                }
            }
        }
        if (!due.isEmpty()) {
            try {
                probes.putAll(DeadlineScope.callAll("ready-probe", due, Duration.ofMillis(PROBE_TIMEOUT_MILLIS * 2L)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Map<String, Probe> result = new HashMap<>();
        for (DatabaseEntry db : databases) {
            Probe best = new Probe(0, false, "not probed");
            for (Endpoint endpoint : Endpoint.of(db)) {
                Probe p = probes.get(endpoint);
                if (p != null && (p.reachable() || !best.reachable())) {
                    best = p;
                }
            }
            result.put(db.name(), best);
        }
        return result;
    }

    private Probe probe(Endpoint endpoint) {
        try {
            connector.probe(endpoint, PROBE_TIMEOUT_MILLIS);
            return new Probe(System.nanoTime(), true, null);
        } catch (IOException e) {
            return new Probe(System.nanoTime(), false, endpoint + " " + e.getMessage());
        }
    }
}
