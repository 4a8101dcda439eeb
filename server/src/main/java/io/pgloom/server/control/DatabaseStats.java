package io.pgloom.server.control;

import io.pgloom.server.pool.PoolStats;

/** One database's figures: its pools' totals now, and their totals at the base of the averages. */
public record DatabaseStats(PoolStats.Totals current, PoolStats.Totals older) {
    DatabaseStats plus(DatabaseStats o) {
        return new DatabaseStats(current.plus(o.current), older.plus(o.older));
    }

    /** PgBouncer's averages over the {@code micros} since the base (SHOW STATS_AVERAGES, log_stats). */
    public PoolStats.Totals averages(long micros) {
        return current.averagesSince(older, micros);
    }
}
