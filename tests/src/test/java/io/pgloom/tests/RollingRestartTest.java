package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rolling restart under load, as the README tells it: two pgloom processes share a port with
 * so_reuseport; each in turn gets SIGTERM (super safe shutdown: it stops listening at once and
 * exits once its clients have gone), and its replacement starts once it has exited, while the
 * other process takes every new connection. Clients loop short transactions and reconnect every
 * few transactions, as pools with a connection lifetime do.
 *
 * <p>What a client may see: a failed connect (refused, or reset before the login ended: Linux
 * resets the connections still in the accept queue of a listener that closes, unless
 * net.ipv4.tcp_migrate_req = 1) is retried, since no transaction began; so is a connection the
 * server closed between transactions. A failure once BEGIN has succeeded counts as a failed
 * transaction, and there must be none.
 */
class RollingRestartTest {
    private static final int CLIENTS = 4;
    private static final int TRANSACTIONS_PER_CONNECTION = 20;
    private static final Duration EXIT = Duration.ofSeconds(60);

    private final AtomicBoolean stop = new AtomicBoolean();
    private final LongAdder completed = new LongAdder();
    private final LongAdder closedBetweenTransactions = new LongAdder();
    private final Map<String, LongAdder> connectFailures = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<String> failed = new ConcurrentLinkedQueue<>();

    @Test
    void restartingEachProcessInTurnLosesNoTransaction(@TempDir Path dir) throws Exception {
        try (PeerGroup peers = new PeerGroup(dir, 2, "max_client_conn = 200");
                ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            PgloomProcess[] running = {peers.start(1), peers.start(2)};
            List<Future<?>> loops = java.util.stream.IntStream.range(0, CLIENTS)
                    .<Future<?>>mapToObj(i -> clients.submit(() -> clientLoop(peers.port))).toList();
            try {
                awaitProgress(100);
                for (int id = 1; id <= 2; id++) {
                    PgloomProcess old = running[id - 1];
                    old.signal("TERM");
                    assertEquals(0, old.awaitExit(EXIT), "peer " + id + " exits once its clients left" + old.output());
                    running[id - 1] = peers.start(id);
                    awaitProgress(100);
                }
                awaitProgress(100);
            } finally {
                stop.set(true);
                for (Future<?> f : loops) {
                    f.get();
                }
            }
            System.out.printf("rolling restart: %d transactions, %d failed, connect failures retried %s,"
                    + " connections closed between transactions %d%n", completed.sum(), failed.size(), connectFailures,
                    closedBetweenTransactions.sum());
            assertEquals(List.of(), List.copyOf(failed), "no transaction may fail");
            assertTrue(completed.sum() > 0);
            for (PgloomProcess replacement : running) {
                replacement.await(Pattern.compile("login ok"), Duration.ZERO); // the kernel gave each new process clients
            }
        }
    }

    /** Waits until {@code more} transactions completed from now; fails if they do not within a minute. */
    private void awaitProgress(long more) throws InterruptedException {
        long target = completed.sum() + more;
        long end = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (completed.sum() < target) {
            assertTrue(System.nanoTime() < end, "no progress: " + completed.sum() + " of " + target + ", failed " + failed);
            assertTrue(failed.isEmpty(), "failed: " + failed);
            Thread.sleep(20);
        }
    }

    private void clientLoop(int port) {
        AtomicLong attempts = new AtomicLong();
        while (!stop.get()) {
            Connection c;
            try {
                c = Pgloom.connect(port, "app", "alice", "alice-secret");
            } catch (SQLException e) {
                // No transaction began: refused, or reset before the login ended. Retry.
                connectFailures.computeIfAbsent(e.getSQLState() + " " + e.getMessage(), k -> new LongAdder()).increment();
                sleep(20);
                assertTrue(attempts.incrementAndGet() < 2_000, "cannot connect any more: " + e);
                continue;
            }
            try (c; Statement s = c.createStatement()) {
                for (int i = 0; i < TRANSACTIONS_PER_CONNECTION && !stop.get(); i++) {
                    try {
                        s.execute("BEGIN");
                    } catch (SQLException e) {
                        if (e.getSQLState() != null && e.getSQLState().startsWith("08")) {
                            closedBetweenTransactions.increment(); // closed while idle: nothing began, reconnect
                            break;
                        }
                        failed.add("BEGIN: " + e.getSQLState() + " " + e.getMessage());
                        break;
                    }
                    try {
                        s.execute("SELECT pg_sleep(0.002)");
                        s.execute("COMMIT");
                        completed.increment();
                    } catch (SQLException e) {
                        failed.add("in a transaction: " + e.getSQLState() + " " + e.getMessage());
                        break;
                    }
                }
            } catch (SQLException e) {
                // closing a connection the server already closed: nothing to do
            }
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
