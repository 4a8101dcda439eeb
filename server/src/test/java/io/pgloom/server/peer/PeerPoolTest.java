package io.pgloom.server.peer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.pgloom.config.PeerEntry;
import io.pgloom.server.control.ForeignCancels.PeerPoolView;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * One peer's forwarded cancels against a stand-in peer on a Unix socket that holds each cancel
 * connection open until the test lets it go: at most pool_size at once, the others waiting, every
 * forward bounded by its time limit, and SHOW PEER_POOLS' counts following along.
 */
class PeerPoolTest {
    private static final int PORT = 7777;

    @TempDir
    Path dir;
    private ServerSocketChannel peer;
    private final LinkedBlockingQueue<SocketChannel> held = new LinkedBlockingQueue<>();
    private final ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor();
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private final Logger poolLog = (Logger) LoggerFactory.getLogger(PeerPool.class);

    @BeforeEach
    void standInPeer() throws IOException {
        logged.start();
        poolLog.addAppender(logged);
        peer = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        peer.bind(UnixDomainSocketAddress.of(dir.resolve(".s.PGSQL." + PORT)));
        threads.submit(() -> {
            while (peer.isOpen()) {
                held.add(peer.accept());
            }
            return null;
        });
    }

    @AfterEach
    void stop() throws IOException {
        poolLog.detachAppender(logged);
        peer.close();
        for (SocketChannel c : held) {
            c.close();
        }
        threads.shutdownNow();
    }

    private PeerPool pool(int poolSize) {
        return new PeerPool(new PeerEntry(2, dir.toString(), PORT, OptionalInt.of(poolSize), Map.of(), "test:1"), poolSize);
    }

    private static void await(PeerPool pool, Predicate<PeerPoolView> condition) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!condition.test(pool.view())) {
            assertTrue(System.nanoTime() < end, "never reached; now " + pool.view());
            Thread.sleep(5);
        }
    }

    /** The 16 bytes of a CancelRequest, as the peer reads them before it closes the connection. */
    private static ByteBuffer read(SocketChannel c) throws IOException {
        ByteBuffer request = ByteBuffer.allocate(16);
        while (request.hasRemaining() && c.read(request) >= 0) {
            // until all 16 bytes are in
        }
        return request.flip();
    }

    private List<String> lines() {
        return logged.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Test
    void sendsOneCancelRequestPerConnectionAndAtMostPoolSizeAtOnce() throws Exception {
        PeerPool pool = pool(1);
        Future<?> first = threads.submit(() -> pool.forward(0x10001, 0x1234567B, Duration.ofSeconds(10)));
        SocketChannel one = held.poll(10, TimeUnit.SECONDS);
        ByteBuffer request = read(one);
        assertEquals(16, request.getInt());
        assertEquals(80877102, request.getInt());
        assertEquals(0x10001, request.getInt());
        assertEquals(0x1234567B, request.getInt());
        await(pool, v -> v.activeCancelServers() == 1);

        Future<?> second = threads.submit(() -> pool.forward(0x10002, 7, Duration.ofSeconds(10)));
        await(pool, v -> v.waitingCancelRequests() == 1);
        assertEquals(new PeerPoolView(2, 1, 1, 1, 0), pool.view());

        one.close(); // the peer has passed the cancel on: the first forward ends, the second gets its turn
        first.get(10, TimeUnit.SECONDS);
        SocketChannel two = held.poll(10, TimeUnit.SECONDS);
        assertTrue(two != null, "the waiting cancel went out once there was room");
        assertEquals(0x10002, read(two).getInt(8));
        two.close();
        second.get(10, TimeUnit.SECONDS);
        assertEquals(new PeerPoolView(2, 0, 0, 0, 0), pool.view());
        assertEquals(2, lines().stream().filter(l -> l.contains("forwarded to peer 2 at unix:")).count(), lines().toString());
    }

    @Test
    void aPeerThatNeverClosesIsGivenUpOnAtTheLimit() throws Exception {
        PeerPool pool = pool(1);
        long start = System.nanoTime();
        pool.forward(0x10003, 3, Duration.ofMillis(300));
        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        assertTrue(tookMillis < 5_000, "bounded: " + tookMillis + " ms");
        assertEquals(new PeerPoolView(2, 0, 0, 0, 0), pool.view());
        assertTrue(lines().getLast().startsWith("gave up forwarding cancel request for client key 10003 to peer 2"), lines().toString());
    }

    @Test
    void aCancelThatFindsThePoolFullForTheWholeLimitIsNotSent() throws Exception {
        PeerPool pool = pool(1);
        Future<?> holder = threads.submit(() -> pool.forward(0x10004, 3, Duration.ofSeconds(10)));
        await(pool, v -> v.activeCancelServers() == 1);
        pool.forward(0x10005, 3, Duration.ofMillis(200));
        assertTrue(lines().getLast().contains("not forwarded to peer 2") && lines().getLast().contains("pool_size (1) stayed full"),
                lines().toString());
        SocketChannel c = held.poll(10, TimeUnit.SECONDS);
        read(c);
        c.close();
        holder.get(10, TimeUnit.SECONDS);
    }

    @Test
    void anUnreachablePeerIsLoggedWithTheReason() throws Exception {
        peer.close();
        pool(1).forward(0x10006, 3, Duration.ofSeconds(5));
        assertTrue(lines().getLast().startsWith("could not forward cancel request for client key 10006 to peer 2 at unix:"),
                lines().toString());
    }
}
