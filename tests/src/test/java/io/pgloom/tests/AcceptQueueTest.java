package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What new connections see while one of two so_reuseport processes stops listening (SIGTERM),
 * under a storm of connects: each is served by one process or the other, or fails before its
 * login ended (refused, or reset out of the closing listener's accept queue, as Linux does with
 * net.ipv4.tcp_migrate_req = 0). None may fail once logged in. The counts are printed: they are
 * what the README's rolling-restart section reports.
 */
class AcceptQueueTest {
    private static final int CLIENTS = 16;

    private final AtomicBoolean stop = new AtomicBoolean();
    private final LongAdder served = new LongAdder();
    private final LongAdder failedConnect = new LongAdder();
    private final LongAdder resetDuringLogin = new LongAdder();
    private final ConcurrentLinkedQueue<String> failedAfterLogin = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<String> loginFailures = new ConcurrentLinkedQueue<>();

    @Test
    void aClosingListenerOnlyEverFailsConnectionsBeforeTheirLogin(@TempDir Path dir) throws Exception {
        try (PeerGroup peers = new PeerGroup(dir, 2, "max_client_conn = 500\nauth_type = trust");
                ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            PgloomProcess first = peers.start(1);
            peers.start(2);
            List<Future<?>> storm = IntStream.range(0, CLIENTS).<Future<?>>mapToObj(i -> clients.submit(() -> connectLoop(peers.port))).toList();
            try {
                Thread.sleep(1000);
                first.signal("TERM");
                assertEquals(0, first.awaitExit(Duration.ofSeconds(60)), first.output());
                Thread.sleep(500);
            } finally {
                stop.set(true);
                for (Future<?> f : storm) {
                    f.get();
                }
            }
            System.out.printf("connect storm over a SIGTERM: %d served, %d connects failed, %d reset during login,"
                    + " %d failed after login; failures before the login ended: %s%n", served.sum(), failedConnect.sum(), resetDuringLogin.sum(),
                    failedAfterLogin.size(), loginFailures.stream().distinct().toList());
            assertEquals(List.of(), List.copyOf(failedAfterLogin));
            assertTrue(served.sum() > 0);
        }
    }

    private void connectLoop(int port) {
        while (!stop.get()) {
            RawClient c;
            try {
                c = new RawClient(port);
            } catch (IOException e) {
                failedConnect.increment();
                loginFailures.add("connect: " + e);
                continue;
            }
            try (c) {
                try {
                    c.login("alice", "", "app");
                } catch (IOException e) {
                    resetDuringLogin.increment();
                    loginFailures.add(e.toString());
                    continue;
                }
                try {
                    assertEquals("1", RawClient.firstValue(c.simpleQuery("SELECT 1")));
                    c.terminate();
                    served.increment();
                } catch (IOException | AssertionError e) {
                    failedAfterLogin.add(e.toString());
                }
            } catch (IOException e) {
                // closing: nothing to do
            }
        }
    }
}
