package io.pgloom.server.pool;

import io.pgloom.server.control.PoolerMetrics;
import java.util.concurrent.atomic.LongAdder;

/**
 * The counters PgBouncer keeps per pool (its {@code PgStats}), which SHOW STATS, STATS_TOTALS,
 * STATS_AVERAGES and TOTALS add up per database, and the metrics endpoint will read too.
 *
 * <p>Threading: the data path only adds. Each counter is a {@link LongAdder}: client threads
 * (bytes received, queries, transactions, waits) and server reader threads (bytes sent, query and
 * transaction time) of the same pool add without a lock and without contending on one cache line.
 * Readers ({@link #totals()}) sum without a lock. The stats-period thread alone calls
 * {@link #rotate}, which keeps the two snapshots PgBouncer's averages are computed from.
 */
public final class PoolStats {
    final LongAdder serverAssignments = new LongAdder();
    public final LongAdder transactions = new LongAdder();
    public final LongAdder queries = new LongAdder();
    /** Bytes read from clients (PgBouncer's client_bytes, shown as total_received). */
    public final LongAdder bytesReceived = new LongAdder();
    /** Bytes read from servers for clients (PgBouncer's server_bytes, shown as total_sent). */
    public final LongAdder bytesSent = new LongAdder();
    final LongAdder transactionNanos = new LongAdder();
    final LongAdder queryNanos = new LongAdder();
    final LongAdder waitNanos = new LongAdder();
    public final LongAdder clientParses = new LongAdder();
    public final LongAdder serverParses = new LongAdder();
    public final LongAdder binds = new LongAdder();
    public final LongAdder clientLogins = new LongAdder();

    /** This pool's histograms and server-open counter; null for the console, which has no pool. */
    private final PoolerMetrics.PoolSeries series;

    /** Totals at the last stats_period tick and at the one before (PgBouncer's newer_stats, older_stats). */
    private volatile Totals newer = Totals.ZERO;
    private volatile Totals older = Totals.ZERO;

    /**
     * One set of figures, as PgBouncer shows them: counts, bytes, and times in microseconds. The
     * same record holds totals, the difference of two totals, or averages.
     */
    public record Totals(long serverAssignments, long transactions, long queries, long bytesReceived,
                         long bytesSent, long transactionMicros, long queryMicros, long waitMicros,
                         long clientParses, long serverParses, long binds, long clientLogins) {
        public static final Totals ZERO = new Totals(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

        public Totals plus(Totals o) {
            return new Totals(serverAssignments + o.serverAssignments, transactions + o.transactions,
                    queries + o.queries, bytesReceived + o.bytesReceived, bytesSent + o.bytesSent,
                    transactionMicros + o.transactionMicros, queryMicros + o.queryMicros, waitMicros + o.waitMicros,
                    clientParses + o.clientParses, serverParses + o.serverParses, binds + o.binds,
                    clientLogins + o.clientLogins);
        }

        /**
         * PgBouncer's averages ({@code calc_average}) between {@code old}, taken {@code micros}
         * ago, and these totals: counts and bytes per second; transaction and query time per
         * transaction and per query; wait time per server assignment. All zero when no time passed.
         */
        public Totals averagesSince(Totals old, long micros) {
            if (micros <= 0) {
                return ZERO;
            }
            long assignments = serverAssignments - old.serverAssignments;
            long xacts = transactions - old.transactions;
            long qs = queries - old.queries;
            return new Totals(perSecond(assignments, micros), perSecond(xacts, micros), perSecond(qs, micros),
                    perSecond(bytesReceived - old.bytesReceived, micros), perSecond(bytesSent - old.bytesSent, micros),
                    xacts > 0 ? (transactionMicros - old.transactionMicros) / xacts : 0,
                    qs > 0 ? (queryMicros - old.queryMicros) / qs : 0,
                    assignments > 0 ? (waitMicros - old.waitMicros) / assignments : 0,
                    perSecond(clientParses - old.clientParses, micros), perSecond(serverParses - old.serverParses, micros),
                    perSecond(binds - old.binds, micros), perSecond(clientLogins - old.clientLogins, micros));
        }

        private static long perSecond(long delta, long micros) {
            return (long) (delta * 1_000_000.0 / micros);
        }
    }

    /** The console's counters: no histograms. */
    public PoolStats() {
        this(null);
    }

    PoolStats(PoolerMetrics.PoolSeries series) {
        this.series = series;
    }

    /** The totals since pgloom started; lock-free, consistent per counter rather than across them. */
    public Totals totals() {
        return new Totals(serverAssignments.sum(), transactions.sum(), queries.sum(), bytesReceived.sum(),
                bytesSent.sum(), transactionNanos.sum() / 1000, queryNanos.sum() / 1000, waitNanos.sum() / 1000,
                clientParses.sum(), serverParses.sum(), binds.sum(), clientLogins.sum());
    }

    /** Totals as of the tick before the last one: the base of PgBouncer's averages (see {@link Pooler#statsBase}). */
    public Totals older() {
        return older;
    }

    /** The stats_period tick: what was newest becomes the older base. Stats-period thread only. */
    public void rotate() {
        older = newer;
        newer = totals();
    }

    /** A client logged in; the console counts its own logins here, pool clients are counted by their session. */
    public void loggedIn() {
        clientLogins.increment();
    }

    /** One request that is a whole transaction by itself: an admin console command. */
    public void counted() {
        queries.increment();
        transactions.increment();
    }

    /** A server was linked to a client after the client waited {@code waitedNanos} for it. */
    public void assigned(long waitedNanos) {
        serverAssignments.increment();
        waitNanos.add(waitedNanos);
        if (series != null) {
            series.waitTime().observe(waitedNanos / 1e9);
        }
    }

    /** A request got its ReadyForQuery {@code nanos} after it was sent (PgBouncer's query_time). */
    public void queryDone(long nanos) {
        nanos = Math.max(0, nanos); // clock readings of two carriers (Carriers.nanoTime)
        queryNanos.add(nanos);
        if (series != null) {
            series.query().observe(nanos / 1e9);
        }
    }

    /** A transaction ended {@code nanos} after its first request (PgBouncer's xact_time). */
    public void transactionDone(long nanos) {
        nanos = Math.max(0, nanos);
        transactionNanos.add(nanos);
        if (series != null) {
            series.transaction().observe(nanos / 1e9);
        }
    }

    /** A server connection of this pool was opened and logged in. */
    void serverOpened() {
        if (series != null) {
            series.opened().inc();
        }
    }
}
