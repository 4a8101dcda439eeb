package io.pgloom.server.control;

import io.pgloom.config.SettingValues;
import io.pgloom.server.TaskScope;
import io.pgloom.server.pool.Pool;
import io.pgloom.server.pool.PoolStats;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PgBouncer's stats_period: every period each pool's totals are snapshotted, the base that SHOW
 * STATS_AVERAGES and the log_stats lines average over; plus the admin console's own counters, the
 * {@code pgbouncer} database's row.
 *
 * <p>Threading: the {@code stats-period} virtual thread of the pooler's scope ticks; SHOW and the
 * metrics read. A tick and a reader of the base take {@link #lock}, so the base is seen whole; the
 * data path never takes it (it adds to each pool's LongAdders).
 */
final class StatsTicker {
    // Logs as Pooler, as the log_stats lines did before the split: operators' filters match the logger name.
    private static final Logger log = LoggerFactory.getLogger(Pooler.class);

    private final Pools pools;
    /** The current settings, read at every wake-up so a reload or SET applies within a second. */
    private final Supplier<SettingValues> settings;
    /** The console's own counters: the pgbouncer database's row in SHOW STATS, as in PgBouncer. */
    private final PoolStats consoleStats = new PoolStats();
    /** Makes a tick atomic for readers of the averages' base; never taken on the data path. */
    private final ReentrantLock lock = new ReentrantLock();
    /** nanoTime of the tick before the last one: PgBouncer's old_stamp, where averages start. */
    private long olderStamp = System.nanoTime() - 1_000_000_000L;
    private long newerStamp = System.nanoTime();

    StatsTicker(Pools pools, Supplier<SettingValues> settings) {
        this.pools = pools;
        this.settings = settings;
    }

    PoolStats consoleStats() {
        return consoleStats;
    }

    /** The base of the averages, under the lock, so a tick in progress is seen whole or not at all. */
    StatsBase base() {
        lock.lock();
        try {
            Map<PoolStats, PoolStats.Totals> older = new IdentityHashMap<>();
            for (Pool p : pools.all()) {
                older.put(p.stats, p.stats.older());
            }
            older.put(consoleStats, consoleStats.older());
            return new StatsBase((System.nanoTime() - olderStamp) / 1000, older);
        } finally {
            lock.unlock();
        }
    }

    /**
     * The statistics per database, sorted by name, PgBouncer's pools added up by database; the
     * admin console's own counters are the row of {@link Pooler#CONSOLE_DATABASE}.
     */
    SortedMap<String, DatabaseStats> byDatabase(StatsBase base) {
        SortedMap<String, DatabaseStats> m = new TreeMap<>();
        m.put(Pooler.CONSOLE_DATABASE, new DatabaseStats(consoleStats.totals(), base.of(consoleStats)));
        for (Pool p : pools.all()) {
            m.merge(p.key().database(), new DatabaseStats(p.stats.totals(), base.of(p.stats)), DatabaseStats::plus);
        }
        return m;
    }

    /**
     * Every stats_period seconds, as PgBouncer's refresh_stats: each pool's latest totals become
     * the newer snapshot and the previous newer one the older, the base of the averages; then, with
     * log_stats, one line per database. The loop wakes every second and reads stats_period and
     * log_stats each time, so a reload or SET takes effect within a second, not after the old
     * period has run out.
     */
    void loop(TaskScope scope) {
        long lastTick = System.nanoTime();
        while (!scope.isClosed()) {
            long periodNanos = Math.max(1, settings.get().integer("stats_period")) * 1_000_000_000L;
            long left = periodNanos - (System.nanoTime() - lastTick);
            if (left > 0) {
                try {
                    Thread.sleep(Math.min(1000, Math.max(1, left / 1_000_000)));
                } catch (InterruptedException e) {
                    return;
                }
                continue;
            }
            lastTick = System.nanoTime();
            rotate();
            if (settings.get().bool("log_stats")) {
                logStats();
            }
        }
    }

    /** log_stats: each database's averages over the last stats_period, as SHOW STATS_AVERAGES has them now. */
    private void logStats() {
        StatsBase base = base();
        byDatabase(base).forEach((database, d) -> {
            if (database.equals(Pooler.CONSOLE_DATABASE)) {
                return; // the console's own traffic is not what an operator watches the log for
            }
            PoolStats.Totals a = d.averages(base.micros());
            log.info("stats for database {}: {} xacts/s, {} queries/s, in {} B/s, out {} B/s, xact {} us, query {} us,"
                    + " wait {} us", database, a.transactions(), a.queries(), a.bytesReceived(), a.bytesSent(),
                    a.transactionMicros(), a.queryMicros(), a.waitMicros());
        });
    }

    void rotate() {
        lock.lock();
        try {
            olderStamp = newerStamp;
            newerStamp = System.nanoTime();
            for (Pool p : pools.all()) {
                p.stats.rotate();
            }
            consoleStats.rotate();
        } finally {
            lock.unlock();
        }
    }
}
