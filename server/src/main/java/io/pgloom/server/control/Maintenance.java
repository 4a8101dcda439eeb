package io.pgloom.server.control;

import io.pgloom.config.DatabaseEntry;
import io.pgloom.config.PgloomConfig;
import io.pgloom.server.TaskScope;
import io.pgloom.server.pool.Pool;
import io.pgloom.server.pool.PoolKey;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The once-a-second pass over the pools: each pool's own upkeep (server idle
 * timeouts and lifetimes, min_pool_size), and freeing pools left unused past pool_idle_timeout or
 * autodb_idle_timeout. Client timeouts are the janitor's, three times a second.
 *
 * <p>Threading: one {@code pool-maintenance} virtual thread in the pooler's scope, until the scope
 * closes. A pool's failure is logged and does not stop the others' upkeep.
 */
final class Maintenance {
    // Logs as Pooler, as these lines did before the split: operators' filters match the logger name.
    private static final Logger log = LoggerFactory.getLogger(Pooler.class);

    private final Pooler pooler;
    private final Pools pools;

    Maintenance(Pooler pooler, Pools pools) {
        this.pooler = pooler;
        this.pools = pools;
    }

    void loop(TaskScope scope) {
        while (!scope.isClosed()) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            openForcedUserPools();
            for (Pool p : pools.all()) {
                try {
                    p.maintain(now);
                } catch (RuntimeException e) {
                    log.error("maintenance of pool {} failed", p.key(), e);
                }
            }
            freeUnusedPools(now);
        }
    }

    /**
     * As in PgBouncer, a database whose entry forces a user= and asks for a min_pool_size gets its
     * pool, and those connections, before any client comes: the pool's key is known from the config.
     */
    private void openForcedUserPools() {
        int globalMin = pooler.settings().minPoolSize();
        for (DatabaseEntry db : pooler.config().databases()) {
            if (db.user() != null && !db.name().equals("*") && db.minPoolSize().orElse(globalMin) > 0 && !pools.keys().contains(new PoolKey(db.name(), db.user()))) {
                pools.join(db, db.user(), false);
            }
        }
    }

    /**
     * pool_idle_timeout and autodb_idle_timeout: frees each pool that has had no client and no
     * server connection for that long (autodb_idle_timeout for a database made from the {@code *}
     * entry, pool_idle_timeout for the others; 0 = never). A later client makes it anew.
     */
    private void freeUnusedPools(long now) {
        PoolerSettings settings = pooler.settings();
        PgloomConfig config = pooler.config();
        long poolLimit = settings.poolIdleTimeout().toNanos();
        long autodbLimit = settings.autodbIdleTimeout().toNanos();
        for (PoolKey key : pools.keys()) {
            boolean auto = config.databases().stream().noneMatch(d -> d.name().equals(key.database()));
            long limit = auto ? autodbLimit : poolLimit;
            if (limit <= 0) {
                continue;
            }
            Pool freed = pools.removeIfUnused(key, limit, now);
            if (freed != null) {
                freed.closeScope(); // outside the map operation: it waits for the pool's tasks to end
                log.info("{}: pool freed after {} s unused ({})", key, limit / 1_000_000_000.0,
                        auto ? "autodb_idle_timeout" : "pool_idle_timeout");
            }
        }
    }
}
