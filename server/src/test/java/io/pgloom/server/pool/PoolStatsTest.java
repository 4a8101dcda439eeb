package io.pgloom.server.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgloom.server.pool.PoolStats.Totals;
import org.junit.jupiter.api.Test;

/** PgBouncer's calc_average: rates per second, times per transaction, query and assignment. */
class PoolStatsTest {

    private static Totals totals(long assignments, long xacts, long queries, long received, long sent,
                                 long xactMicros, long queryMicros, long waitMicros) {
        return new Totals(assignments, xacts, queries, received, sent, xactMicros, queryMicros, waitMicros, 0, 0, 0, 0);
    }

    @Test
    void averagesAreRatesAndMeansOverTheWindow() {
        Totals older = totals(10, 10, 20, 1000, 5000, 100_000, 40_000, 500);
        Totals now = totals(40, 70, 140, 7000, 65_000, 700_000, 280_000, 3500);
        Totals avg = now.averagesSince(older, 2_000_000); // two seconds
        assertEquals(15, avg.serverAssignments(), "30 assignments in 2 s");
        assertEquals(30, avg.transactions(), "60 transactions in 2 s");
        assertEquals(60, avg.queries());
        assertEquals(3000, avg.bytesReceived());
        assertEquals(30_000, avg.bytesSent());
        assertEquals(10_000, avg.transactionMicros(), "600 ms over 60 transactions");
        assertEquals(2000, avg.queryMicros(), "240 ms over 120 queries");
        assertEquals(100, avg.waitMicros(), "3 ms waited over 30 assignments");
    }

    @Test
    void aQuietWindowAveragesToZeroAndNoTimeGivesZero() {
        Totals t = totals(5, 5, 5, 50, 50, 500, 500, 50);
        assertEquals(Totals.ZERO, t.averagesSince(t, 60_000_000));
        assertEquals(Totals.ZERO, t.averagesSince(Totals.ZERO, 0));
    }

    @Test
    void rotateKeepsTheSnapshotBeforeTheLatest() {
        PoolStats stats = new PoolStats();
        stats.transactions.add(3);
        stats.rotate();
        assertEquals(Totals.ZERO, stats.older(), "one tick: the base is still the start");
        stats.transactions.add(4);
        stats.rotate();
        assertEquals(3, stats.older().transactions());
        assertEquals(7, stats.totals().transactions());
    }

    @Test
    void timesAreKeptInNanosecondsAndShownInMicroseconds() {
        PoolStats stats = new PoolStats();
        stats.assigned(2_500_000);
        stats.queryNanos.add(1_999);
        assertEquals(1, stats.totals().serverAssignments());
        assertEquals(2500, stats.totals().waitMicros());
        assertEquals(1, stats.totals().queryMicros());
    }
}
