package io.pgloom.server.carrier;

import io.pgloom.wire.tcp.TcpTuning;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * A listening channel (TCP or Unix) whose {@link #accept} blocks the calling virtual thread until
 * its carrier's epoll reports a connection, as {@link ChannelConduit} does for reads: a burst of
 * connections is accepted without waiting, and only an accept that finds none parks. A TCP
 * listener accepts with accept4 where this JVM allows it ({@link NativeIo#ACCEPT}), else with
 * the channel's own accept; pgloom's client listeners take their connections as bare descriptors
 * ({@link #acceptTcp}), with no channel object per client.
 *
 * <p>Threading: one accepting thread; {@link #close} from any thread wakes it.
 */
public final class ChannelAcceptor {
    private final ServerSocketChannel channel;
    private final Descriptor descriptor;
    /** accept4's errno and the peer's address: null when the channel's own accept is used. */
    private final MemorySegment errno;
    private final byte[] address;
    private final int[] addressLength = new int[1];
    /** The address every connection reaches this listener on; null for a wildcard one (each connection is asked). */
    private final InetSocketAddress fixedLocal;
    /** A wildcard listener's last connection's local address: the next one that reached the same shares it. */
    private InetSocketAddress lastLocal;

    /**
     * A TCP connection {@link #acceptTcp} took: a conduit on its bare descriptor, the peer's
     * address and port, and the local ones.
     */
    public record Accepted(ChannelConduit conduit, InetSocketAddress remote, InetSocketAddress local) {
    }

    /** One try at taking a waiting connection: what was taken, or null when none waits. */
    @FunctionalInterface
    private interface Take<T> {
        T next() throws IOException;
    }

    public ChannelAcceptor(ServerSocketChannel channel) throws IOException {
        channel.configureBlocking(false);
        this.channel = channel;
        this.descriptor = new Descriptor(channel, true);
        boolean direct = NativeIo.ACCEPT && channel.getLocalAddress() instanceof InetSocketAddress;
        this.errno = direct ? NativeIo.errnoBox() : null;
        this.address = direct ? new byte[NativeIo.SOCKADDR_BYTES] : null;
        InetSocketAddress bound = direct ? (InetSocketAddress) channel.getLocalAddress() : null;
        this.fixedLocal = bound != null && !bound.getAddress().isAnyLocalAddress() ? bound : null;
    }

    /** The next connection, as a blocking accept would return it; throws once closed. */
    public SocketChannel accept() throws IOException {
        if (errno == null) {
            return await(channel::accept);
        }
        return await(() -> {
            int fd = acceptDirect();
            return fd < 0 ? null : NativeIo.INSTANCE.accepted(channel.provider(), fd, address);
        });
    }

    /**
     * The next TCP connection, as {@link #accept} waits for it, but with no channel object made
     * for it: the descriptor accept4 returned, read and written by direct calls
     * ({@link ChannelConduit#ofDescriptor}), with the peer's address as accept4 reported it and
     * the listener's own address (asked of the kernel, one getsockname, only when the listener is
     * on a wildcard address). An idle client then holds no channel, socket adaptor, descriptor
     * object, locks or address copies of the JDK's, and its login makes none of the JDK's
     * per-connection calls (two getsockname, an fcntl). Only where {@link #acceptsDescriptors}.
     */
    public Accepted acceptTcp() throws IOException {
        if (!acceptsDescriptors()) {
            throw new SocketException("not a listener whose connections pgloom reads by direct calls");
        }
        return await(() -> {
            int fd = acceptDirect();
            if (fd < 0) {
                return null;
            }
            NativeIo io = NativeIo.INSTANCE;
            try {
                InetSocketAddress local = fixedLocal != null ? fixedLocal : shared(io.localAddress(errno, fd));
                InetSocketAddress remote = NativeIo.socketAddress(address);
                return new Accepted(ChannelConduit.ofDescriptor(fd), remote, local);
            } catch (IOException | RuntimeException e) {
                io.close(fd);
                throw e;
            }
        });
    }

    /** {@code local}, or the equal address of the connection before: one object for the many connections that reach the same address. */
    private InetSocketAddress shared(InetSocketAddress local) {
        InetSocketAddress last = lastLocal;
        if (local.equals(last) && !local.getAddress().isLinkLocalAddress()) {
            return last; // (a link-local address's scope is not compared by equals)
        }
        lastLocal = local;
        return local;
    }

    /** Whether {@link #acceptTcp} may be used: a TCP listener, accept4, and direct reads and writes. */
    public boolean acceptsDescriptors() {
        return errno != null && NativeIo.DIRECT;
    }

    /** Takes a connection with {@code take}, parking until the listener is reported readable while none waits. */
    private <T> T await(Take<T> take) throws IOException {
        Descriptor d = descriptor;
        while (true) {
            if (d.readable) {
                d.readable = false; // before the accept: a connection that comes after it is reported again
                T c;
                try {
                    c = take.next();
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

    /** One accept4: the new descriptor (the peer's address in {@link #address}), or -1 when none waits. */
    private int acceptDirect() throws IOException {
        NativeIo io = NativeIo.INSTANCE;
        Descriptor d = descriptor;
        while (true) {
            int fd;
            d.enter();
            try {
                fd = io.accept4(errno, d.fd, address, addressLength);
            } finally {
                d.leave();
            }
            if (fd >= 0) {
                return fd;
            }
            int e = io.errno(errno);
            if (e == NativeIo.EAGAIN) {
                return -1;
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
        io.apply(tcp, NativeIo.errnoBox(), io.fd(channel));
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
