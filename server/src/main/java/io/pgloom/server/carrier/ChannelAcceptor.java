package io.pgloom.server.carrier;

import io.pgloom.wire.tcp.TcpTuning;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Map;
import jdk.net.ExtendedSocketOptions;

/**
 * A listening channel (TCP or Unix) whose {@link #accept} blocks the calling virtual thread until
 * its carrier's epoll reports a connection, as {@link ChannelConduit} does for reads: a burst of
 * connections is accepted without waiting, and only an accept that finds none parks. A TCP
 * listener accepts with accept4 where this JVM allows it ({@link NativeIo#ACCEPT}), else with
 * the channel's own accept.
 *
 * <p>Threading: one accepting thread; {@link #close} from any thread wakes it.
 */
public final class ChannelAcceptor {
    /** setsockopt's level and name for each option {@link TcpTuning} sets. */
    private static final Map<SocketOption<?>, int[]> LINUX_OPTIONS = Map.of(
            StandardSocketOptions.TCP_NODELAY, new int[] {NativeIo.IPPROTO_TCP, NativeIo.TCP_NODELAY},
            StandardSocketOptions.SO_KEEPALIVE, new int[] {NativeIo.SOL_SOCKET, NativeIo.SO_KEEPALIVE},
            ExtendedSocketOptions.TCP_KEEPIDLE, new int[] {NativeIo.IPPROTO_TCP, NativeIo.TCP_KEEPIDLE},
            ExtendedSocketOptions.TCP_KEEPINTERVAL, new int[] {NativeIo.IPPROTO_TCP, NativeIo.TCP_KEEPINTVL},
            ExtendedSocketOptions.TCP_KEEPCOUNT, new int[] {NativeIo.IPPROTO_TCP, NativeIo.TCP_KEEPCNT},
            StandardSocketOptions.SO_SNDBUF, new int[] {NativeIo.SOL_SOCKET, NativeIo.SO_SNDBUF},
            StandardSocketOptions.SO_RCVBUF, new int[] {NativeIo.SOL_SOCKET, NativeIo.SO_RCVBUF});

    private final ServerSocketChannel channel;
    private final Descriptor descriptor;
    /** accept4's errno and the peer's address: null when the channel's own accept is used. */
    private final MemorySegment errno;
    private final byte[] address;
    private final int[] addressLength = new int[1];

    public ChannelAcceptor(ServerSocketChannel channel) throws IOException {
        channel.configureBlocking(false);
        this.channel = channel;
        this.descriptor = new Descriptor(channel, true);
        boolean direct = NativeIo.ACCEPT && channel.getLocalAddress() instanceof InetSocketAddress;
        this.errno = direct ? NativeIo.errnoBox() : null;
        this.address = direct ? new byte[NativeIo.SOCKADDR_BYTES] : null;
    }

    /** The next connection, as a blocking accept would return it; throws once closed. */
    public SocketChannel accept() throws IOException {
        Descriptor d = descriptor;
        while (true) {
            if (d.readable) {
                d.readable = false; // before the accept: a connection that comes after it is reported again
                SocketChannel c;
                try {
                    c = errno != null ? acceptDirect(d) : channel.accept();
                } catch (ClosedChannelException e) {
                    throw Descriptor.closedException();
                } catch (IOException e) {
                    d.readable = true; // out of descriptors, say: the waiting connections are still there to retry
                    throw e;
                }
                if (c != null) {
                    d.readable = true; // more may wait
                    return c;
                }
            }
            d.awaitReadable(0);
        }
    }

    /** One accept4: the connection, or null when none waits. */
    private SocketChannel acceptDirect(Descriptor d) throws IOException {
        NativeIo io = NativeIo.INSTANCE;
        while (true) {
            int fd;
            d.enter();
            try {
                fd = io.accept4(errno, d.fd, address, addressLength);
            } finally {
                d.leave();
            }
            if (fd >= 0) {
                return io.accepted(channel.provider(), fd, address);
            }
            int e = io.errno(errno);
            if (e == NativeIo.EAGAIN) {
                return null;
            }
            if (e != NativeIo.EINTR && e != NativeIo.ECONNABORTED) {
                throw io.failure(e); // EMFILE and kin: the caller says so and tries again
            }
        }
    }

    /**
     * Sets TCP_DEFER_ACCEPT on the listening socket ({@code on}: 1 second, PgBouncer's value;
     * off: 0): the kernel wakes the accepting thread only when a connection's first bytes have
     * come, so a new client is accepted with its startup packet there to read. TCP listeners
     * that accept with accept4 only; others throw.
     */
    public void deferAccept(boolean on) throws IOException {
        if (errno == null) {
            throw new SocketException("not a listener whose descriptor pgloom reaches");
        }
        Descriptor d = descriptor;
        NativeIo io = NativeIo.INSTANCE;
        boolean done;
        d.enter();
        try {
            done = io.setInt(errno, d.fd, NativeIo.IPPROTO_TCP, NativeIo.TCP_DEFER_ACCEPT, on ? 1 : 0);
        } finally {
            d.leave();
        }
        if (!done) {
            throw io.failure(io.errno(errno));
        }
    }

    /**
     * Sets {@code tcp}'s options on a TCP channel that is to listen, before it binds: Linux gives
     * every connection a listening socket accepts that socket's options (TCP_NODELAY, SO_KEEPALIVE
     * and its timings, the buffer sizes), so with them set here a new client needs no setsockopt
     * of its own, and from its first packet on (the receive buffer's window scale is offered in
     * the handshake). False where this JVM gives no direct calls; a failed call throws.
     */
    public static boolean tuneListener(ServerSocketChannel channel, TcpTuning tcp) throws IOException {
        if (!NativeIo.ACCEPT) {
            return false;
        }
        NativeIo io = NativeIo.INSTANCE;
        MemorySegment box = NativeIo.errnoBox();
        int fd = io.fd(channel);
        tcp.applyTo(new TcpTuning.OptionSetter() {
            @Override
            public <T> void set(SocketOption<T> option, T value) throws IOException {
                int[] levelAndName = LINUX_OPTIONS.get(option);
                if (levelAndName == null) {
                    throw new SocketException("no setsockopt known for " + option.name());
                }
                int v = value instanceof Boolean on ? (on ? 1 : 0) : (Integer) value;
                if (!io.setInt(box, fd, levelAndName[0], levelAndName[1], v)) {
                    throw io.failure(io.errno(box));
                }
            }
        });
        return true;
    }

    /** Whether connections are accepted with accept4 rather than the channel's own accept. */
    public boolean acceptsDirectly() {
        return errno != null;
    }

    public void close() {
        descriptor.close();
    }
}
