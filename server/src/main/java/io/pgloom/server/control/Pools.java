package io.pgloom.server.control;

import io.pgloom.config.DatabaseEntry;
import io.pgloom.config.PgloomConfig;
import io.pgloom.config.UserEntry;
import io.pgloom.server.backend.ServerConnection;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.server.pool.BudgetKey;
import io.pgloom.server.pool.ConnectionBudget;
import io.pgloom.server.pool.LocalConnectionBudget;
import io.pgloom.server.pool.Pool;
import io.pgloom.server.pool.PoolKey;
import io.pgloom.server.pool.PoolView;
import io.pgloom.wire.backend.Endpoint;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This instance's pools by (database, server user), and the connection budgets they share
 * (max_db_connections per database, max_user_connections per user).
 *
 * <p>Threading: any thread. Both are concurrent maps. A pool is made, joined and freed inside a
 * map operation on its key, so a client joining a pool and maintenance freeing it cannot cross.
 * Readers (views, loops) iterate the live maps and may miss a pool made meanwhile.
 */
final class Pools {
    // Logs as Pooler, as these lines did before the split: operators' filters match the logger name.
    private static final Logger log = LoggerFactory.getLogger(Pooler.class);

    private final Pooler pooler;
    private final ConcurrentHashMap<PoolKey, Pool> pools = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<BudgetKey, ConnectionBudget> budgets = new ConcurrentHashMap<>();

    Pools(Pooler pooler) {
        this.pooler = pooler;
    }

    /** After a reload or SET (the pooler's snapshot already swapped): each pool and budget follows the new config. */
    void reconfigure() {
        PgloomConfig config = pooler.config();
        for (Pool pool : pools.values()) {
            Optional<DatabaseEntry> db = config.database(pool.key().database());
            if (db.isPresent()) {
                if (!sameServer(pool.database(), db.get())) {
                    // As PgBouncer: servers made with the old connection string go once released (WAIT_CLOSE waits for them).
                    log.info("{}: connection string changed; its servers close as they are released", pool.key());
                    pool.reconnect("database configuration changed"); // PgBouncer's words
                }
                if (db.get().loadBalanceHosts() != pool.database().loadBalanceHosts()
                        || db.get().targetSessionAttrs() != pool.database().targetSessionAttrs()) {
                    pool.selector(pooler.routing().selectorFor(db.get()));
                }
                pool.reconfigure(db.get(), pooler.settings(), pooler.credentials(db.get(), pool.key().user()));
            }
        }
        budgets.forEach((key, b) -> b.setLimit(limit(key)));
    }

    /** The failover topology changed for {@code host}: each pool that uses it looks again. */
    void hostChanged(Endpoint host) {
        pools.values().forEach(p -> p.hostChanged(host));
    }

    /** Every pool's servers close as they are released, the idle ones at once; {@code why} is logged once. */
    void reconnectAll(String why) {
        log.info("{}: server connections close as they are released", why);
        pools.values().forEach(p -> p.reconnect("database configuration changed")); // PgBouncer's words
    }

    private static boolean sameServer(DatabaseEntry a, DatabaseEntry b) {
        return a.hosts().equals(b.hosts()) && a.ports().equals(b.ports()) && Objects.equals(a.serverDatabase(), b.serverDatabase())
                && Objects.equals(a.user(), b.user()) && Objects.equals(a.password(), b.password())
                && Objects.equals(a.connectQuery(), b.connectQuery());
    }

    /**
     * The pool of {@code serverUser} on {@code db}, made if missing. A client that joins it counts
     * towards keeping it; auth_query's own use only restarts its unused time (its servers keep it
     * while a query runs). compute, not computeIfAbsent: this is atomic with {@link #removeIfUnused}.
     */
    Pool join(DatabaseEntry db, String serverUser, boolean clientJoins) {
        PoolKey key = new PoolKey(db.name(), serverUser);
        return pools.compute(key, (k, existing) -> {
            Pool p = existing != null ? existing : new Pool(k, pooler, db, pooler.settings(), pooler.credentials(db, serverUser),
                    budget(BudgetKey.database(db.name()), dbLimit(db)), budget(BudgetKey.user(serverUser), userLimit(serverUser)),
                    pooler.routing().selectorFor(db));
            if (existing == null && pooler.config().databases().stream().noneMatch(d -> d.name().equals(db.name()))
                    && pools.keySet().stream().noneMatch(other -> other.database().equals(db.name()))) {
                log.info("registered new auto-database: {} (from the * entry)", db.name()); // PgBouncer's words
            }
            if (clientJoins) {
                p.clientJoined();
            } else {
                p.touched(System.nanoTime());
            }
            return p;
        });
    }

    /** A client of {@code pool} left: its unused time may start. */
    void clientLeft(Pool pool) {
        pools.computeIfPresent(pool.key(), (k, same) -> {
            same.clientLeft(System.nanoTime());
            return same;
        });
    }

    /**
     * Removes the pool of {@code key} if it has been unused for {@code limitNanos}, atomically with
     * {@link #join}; the caller closes its scope, outside the map operation, since that waits.
     *
     * @return the pool removed, or null
     */
    Pool removeIfUnused(PoolKey key, long limitNanos, long now) {
        Pool[] freed = {null};
        pools.computeIfPresent(key, (k, p) -> {
            if (!p.unusedFor(limitNanos, now)) {
                return p;
            }
            freed[0] = p;
            return null;
        });
        return freed[0];
    }

    /** The budget of {@code key}, made with {@code limit} if missing: where a cluster-wide budget plugs in. */
    private ConnectionBudget budget(BudgetKey key, int limit) {
        return budgets.computeIfAbsent(key, k -> new LocalConnectionBudget(limit));
    }

    /** The cap of {@code key} in the current config, for a reload. */
    private int limit(BudgetKey key) {
        return switch (key.kind()) {
            case DATABASE -> dbLimit(pooler.config().database(key.name()).orElse(null));
            case USER -> userLimit(key.name());
        };
    }

    private int dbLimit(DatabaseEntry db) {
        return db != null && db.maxDbConnections().isPresent() ? db.maxDbConnections().getAsInt() : pooler.settings().maxDbConnections();
    }

    private int userLimit(String user) {
        UserEntry u = pooler.config().users().get(user);
        return u != null && u.maxUserConnections().isPresent() ? u.maxUserConnections().getAsInt() : pooler.settings().maxUserConnections();
    }

    /** A server connection of {@code from} closed: pools capped by a shared budget may open one now. */
    void budgetFreed(Pool from) {
        for (Pool p : pools.values()) {
            if (p != from && (p.key().database().equals(from.key().database()) || p.key().user().equals(from.key().user()))) {
                p.wakeHead();
            }
        }
    }

    /**
     * A pool was refused a slot of its database's (or, {@code byDatabase} false, its user's)
     * budget: closes one idle server of another pool that shares that budget, if any has one.
     */
    void evictIdleFor(Pool from, boolean byDatabase) {
        for (Pool p : pools.values()) {
            boolean shares = byDatabase ? p.key().database().equals(from.key().database())
                    : p.key().user().equals(from.key().user());
            if (p != from && shares && p.evictIdle()) {
                return;
            }
        }
    }

    /** Server connections open (or opening) now against max_db_connections / max_user_connections. */
    int serverConnections(String name, boolean byDatabase) {
        ConnectionBudget b = budgets.get(byDatabase ? BudgetKey.database(name) : BudgetKey.user(name));
        return b == null ? 0 : b.used();
    }

    /** Every pool, live: a loop over it sees pools made or freed meanwhile, or not. */
    Collection<Pool> all() {
        return pools.values();
    }

    Collection<PoolKey> keys() {
        return pools.keySet();
    }

    /** The pools of {@code database} (all if null), as they are now. */
    List<Pool> of(String database) {
        List<Pool> out = new ArrayList<>();
        for (Pool p : pools.values()) {
            if (database == null || p.key().database().equals(database)) {
                out.add(p);
            }
        }
        return out;
    }

    /** The pool of ({@code database}, server user {@code user}) if it exists yet, else null. */
    Pool existing(String database, String user) {
        return pools.get(new PoolKey(database, user));
    }

    /**
     * Every pool's view, sorted by database and user, with its client count from the registry's
     * {@code clientsPerPool}. Takes no lock the data path takes (see {@link Pool#view}).
     */
    List<PoolView> views(Map<Pool, Integer> clientsPerPool) {
        long now = System.nanoTime();
        long nowMillis = System.currentTimeMillis();
        List<PoolView> views = new ArrayList<>();
        for (Pool p : pools.values()) {
            views.add(p.view(now, nowMillis).withClients(clientsPerPool.getOrDefault(p, 0)));
        }
        views.sort(Comparator.comparing(PoolView::database).thenComparing(PoolView::user));
        return views;
    }

    /**
     * Each linked client and its server, read from the servers' side (each server's volatile link
     * field), so that SHOW CLIENTS takes no client's lock.
     */
    Map<ClientSession, ServerConnection> linkedClients() {
        Map<ClientSession, ServerConnection> linked = new IdentityHashMap<>();
        for (Pool p : pools.values()) {
            for (ServerConnection s : p.servers()) {
                var l = s.link();
                if (l != null) {
                    linked.put(l.client(), s);
                }
            }
        }
        return linked;
    }

    /** A compact view for logs and tests. */
    List<String> describe() {
        List<String> out = new ArrayList<>();
        pools.forEach((k, p) -> out.add(k + " " + p.counts()));
        return out;
    }
}
