package io.pgloom.server.peer;

import io.pgloom.config.PeerEntry;
import io.pgloom.server.DeadlineScope;
import io.pgloom.server.control.ForeignCancels.PeerPoolView;
import io.pgloom.wire.protocol.MessageBuilder;
import io.pgloom.wire.protocol.StartupRequest;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The cancels forwarded to one peer: at most {@code pool_size} at once (the rest wait, within the
 * same time limit), each on a connection of its own that carries one CancelRequest and is closed
 * by the peer once it has passed the cancel on, as PostgreSQL closes it. A peer whose host starts
 * with {@code /} is reached on its Unix socket {@code host/.s.PGSQL.port}, as in PgBouncer.
 *
 * <p>Threading: {@link #forward} runs on the thread of the connection that brought the cancel;
 * the connection to the peer is made and read in a {@link DeadlineScope} child of it, so the time
 * limit ends a connect or read that hangs. The counters are atomics that SHOW PEER_POOLS samples.
 */
final class PeerPool {
    private static final Logger log = LoggerFactory.getLogger(PeerPool.class);

    final PeerEntry peer;
    final int poolSize;
    private final Semaphore room;
    private final AtomicInteger waiting = new AtomicInteger();
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicInteger connecting = new AtomicInteger();

    PeerPool(PeerEntry peer, int poolSize) {
        this.peer = peer;
        this.poolSize = Math.max(1, poolSize);
        this.room = new Semaphore(this.poolSize, true);
    }

    /** Whether this pool still fits {@code entry} with that pool size (else a reload replaced it). */
    boolean serves(PeerEntry entry, int size) {
        return entry.host().equals(peer.host()) && entry.port() == peer.port() && Math.max(1, size) == poolSize;
    }

    /** {@code 10.0.0.2:6432} or {@code unix:/run/pgloom2/.s.PGSQL.6432}, for log lines. */
    String describe() {
        return isUnix() ? "unix:" + unixFile() : peer.host() + ":" + peer.port();
    }

    private boolean isUnix() {
        return peer.host().startsWith("/");
    }

    private Path unixFile() {
        return Path.of(peer.host(), ".s.PGSQL." + peer.port());
    }

    private SocketAddress address() {
        return isUnix() ? UnixDomainSocketAddress.of(unixFile()) : new InetSocketAddress(peer.host(), peer.port());
    }

    PeerPoolView view() {
        int a = active.get();
        int c = connecting.get();
        return new PeerPoolView(peer.id(), a, waiting.get(), Math.max(0, a - c), c);
    }

    /** Sends the CancelRequest to the peer within {@code limit}, logging how it went. */
    void forward(int processId, int secretKey, Duration limit) {
        String key = Integer.toHexString(processId);
        long deadline = System.nanoTime() + limit.toNanos();
        waiting.incrementAndGet();
        boolean admitted;
        try {
            admitted = room.tryAcquire(limit.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        } finally {
            waiting.decrementAndGet();
        }
        if (!admitted) {
            log.warn("cancel request for client key {} not forwarded to peer {} at {}: its pool_size ({}) stayed full for {} ms",
                    key, peer.id(), describe(), poolSize, limit.toMillis());
            return;
        }
        active.incrementAndGet();
        try {
            Duration left = Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime()));
            Map<Integer, String> outcome = DeadlineScope.callAll("cancel-to-peer", Map.of(peer.id(), () -> send(processId, secretKey)), left);
            String result = outcome.get(peer.id());
            if (result == null) {
                log.warn("gave up forwarding cancel request for client key {} to peer {} at {}: no answer within {} ms",
                        key, peer.id(), describe(), limit.toMillis());
            } else if (result.isEmpty()) {
                log.info("cancel request for client key {} forwarded to peer {} at {}", key, peer.id(), describe());
            } else {
                log.warn("could not forward cancel request for client key {} to peer {} at {}: {}", key, peer.id(), describe(), result);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            active.decrementAndGet();
            room.release();
        }
    }

    /** One connection, one CancelRequest, then wait for the peer to close: "" when delivered, null when out of time, else why not. */
    private String send(int processId, int secretKey) {
        connecting.incrementAndGet();
        boolean connected = false;
        try (SocketChannel channel = SocketChannel.open(address())) {
            connecting.decrementAndGet();
            connected = true;
            ByteBuffer request = ByteBuffer.wrap(
                    new MessageBuilder().int32(StartupRequest.CANCEL_REQUEST).int32(processId).int32(secretKey).build());
            while (request.hasRemaining()) {
                channel.write(request);
            }
            ByteBuffer one = ByteBuffer.allocate(64);
            while (channel.read(one) >= 0) {
                one.clear(); // a peer says nothing back to a CancelRequest: read until it closes
            }
            return "";
        } catch (java.nio.channels.ClosedByInterruptException timedOut) {
            return null; // the time limit passed: the caller says so
        } catch (IOException e) {
            return e.toString();
        } finally {
            if (!connected) {
                connecting.decrementAndGet();
            }
        }
    }
}
