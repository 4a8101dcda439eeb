package io.pgloom.server.pool;

import io.pgloom.config.DatabaseEntry;
import io.pgloom.config.UserEntry;
import io.pgloom.server.control.PoolerSettings;

/**
 * How many server connections one pool may hold, resolved once per load from the three places
 * that can say so, in PgBouncer 1.25's order.
 *
 * <p>pool_size and reserve_pool_size: the {@code [users]} entry of the user the pool's servers
 * log in as, then the {@code [databases]} entry, then the global setting. The user is the pool's
 * (server) user, so an entry with a forced {@code user=} is sized by that user's entry, not by
 * whoever logged in: PgBouncer's test_pool_size checks both. min_pool_size has no per-user form.
 *
 * @param poolSize    connections opened without waiting
 * @param reserveSize extra connections for a client that waited reserve_pool_timeout
 * @param minPoolSize connections kept open even when unused
 */
record PoolSizes(int poolSize, int reserveSize, int minPoolSize) {

    /** @param user the [users] entry of the pool's server user, or null */
    static PoolSizes of(DatabaseEntry db, UserEntry user, PoolerSettings settings) {
        int poolSize = user != null && user.poolSize().isPresent() ? user.poolSize().getAsInt()
                : db.poolSize().orElse(settings.defaultPoolSize());
        int reserve = user != null && user.reservePoolSize().isPresent() ? user.reservePoolSize().getAsInt()
                : db.reservePool().orElse(settings.reservePoolSize());
        return new PoolSizes(poolSize, reserve, db.minPoolSize().orElse(settings.minPoolSize()));
    }
}
