package io.pgloom.server.control;

import io.pgloom.server.pool.PoolStats;
import java.util.Map;

/**
 * The base of the averages: every pool's totals at the stats_period tick before the latest, and
 * how long ago (µs) that tick was, PgBouncer's {@code now - old_stamp}. Taken whole by
 * {@link StatsTicker}, so a tick in progress is seen entirely or not at all.
 */
public record StatsBase(long micros, Map<PoolStats, PoolStats.Totals> older) {
    /** The base of {@code stats}; zero for a pool made after that tick. */
    public PoolStats.Totals of(PoolStats stats) {
        return older.getOrDefault(stats, PoolStats.Totals.ZERO);
    }
}
