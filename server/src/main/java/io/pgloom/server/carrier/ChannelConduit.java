package io.pgloom.server.carrier;

import io.pgloom.wire.tcp.Conduit;
import io.pgloom.wire.tcp.TcpTuning;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.util.Objects;

/**
 * A connected socket channel (TCP or Unix) in non-blocking mode, or a bare TCP descriptor a
 * listener accepted ({@link #ofDescriptor}), with blocking streams for the
 * virtual threads that use it: a read that finds nothing parks the reader until its carrier's
 * epoll reports the socket ({@link Descriptor}); a write the socket cannot take whole parks the
 * writer until the socket drains. Errors read as a JDK socket's do ({@link SocketException}, "Socket closed"), so
 * the sessions above cannot tell the two kinds apart. The reads and writes themselves are direct
 * calls of recv(2) and send(2) on the channel's descriptor and the caller's array
 * ({@link NativeIo}), or NIO's where the JVM does not allow those.
 *
 * <p>Threading: one reader and one writer at a time (the session's thread reads; writes hold the
 * writer's lock); {@link #close} from any thread: a close that comes while a direct call uses the
 * descriptor is finished by that call as it returns, so a descriptor is never closed (and its
 * number given to another socket) under a call. With NIO, the reader's byte-array wrapper is kept
 * and reused while the caller's array stays the same, so a read allocates nothing.
 */
public final class ChannelConduit implements Conduit {
    /** What {@link #direct} returns when the socket is not ready (EAGAIN). */
    private static final long NOT_READY = -1;

    /** The channel, or null for a bare descriptor ({@link #ofDescriptor}). */
    private final SocketChannel channel;
    private final Descriptor descriptor;
    /** The descriptor for {@link NativeIo}'s calls, or -1: reads and writes go through the channel (NIO). */
    private final int fd;
    private final In in = new In();
    private final Out out = new Out();
    /** Bounds each read (nanoseconds; 0: none): the server login's server_connect_timeout. */
    private volatile long readTimeoutNanos;

    private ChannelConduit(SocketChannel channel, boolean directCalls) {
        this.channel = channel;
        this.descriptor = new Descriptor(channel, false);
        this.fd = directCalls ? descriptor.fd : -1;
    }

    private ChannelConduit(Descriptor bare) {
        this.channel = null;
        this.descriptor = bare;
        this.fd = bare.fd;
    }

    /**
     * A connected, non-blocking socket's descriptor that no channel owns (accept4's, see
     * {@link ChannelAcceptor#acceptTcp}), read and written by direct calls only; closing the
     * conduit closes it. It has no {@link #socket()}: options go through {@link #tune}, and
     * whoever accepted it knows its addresses.
     */
    static ChannelConduit ofDescriptor(int fd) {
        return new ChannelConduit(new Descriptor(fd));
    }

    /**
     * An accepted or connected channel, switched to non-blocking mode here; its reads and writes
     * are direct calls on its descriptor when this JVM allows them ({@link NativeIo}).
     */
    public static ChannelConduit of(SocketChannel channel) throws IOException {
        return of(channel, NativeIo.DIRECT);
    }

    /** As {@link #of(SocketChannel)}; {@code directCalls} false: NIO's reads and writes whatever the JVM allows (tests run both). */
    public static ChannelConduit of(SocketChannel channel, boolean directCalls) throws IOException {
        channel.configureBlocking(false);
        return new ChannelConduit(channel, directCalls);
    }

    /** Whether reads and writes are direct calls on the descriptor rather than NIO's. */
    public boolean directCalls() {
        return fd >= 0;
    }

    /**
     * Connects to {@code address} (resolving a host name off the carrier first), with
     * {@code tcp}'s options, waiting on the carrier for the connect to finish.
     */
    static ChannelConduit connect(InetSocketAddress address, int timeoutMillis, TcpTuning tcp) throws IOException {
        long deadline = timeoutMillis > 0 ? System.nanoTime() + timeoutMillis * 1_000_000L : 0;
        InetSocketAddress to = address.isUnresolved() ? resolve(address) : address;
        SocketChannel channel = SocketChannel.open();
        ChannelConduit c;
        try {
            tcp.apply(channel.socket());
            c = of(channel);
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        try {
            if (!channel.connect(to)) {
                while (true) {
                    c.descriptor.writable = false; // before the look: a report after it sets it again
                    if (channel.finishConnect()) {
                        break;
                    }
                    c.descriptor.awaitWritable(deadline);
                }
            }
            return c;
        } catch (SocketTimeoutException e) {
            c.close();
            throw new SocketTimeoutException("Connect timed out");
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** An IP literal as it is; a host name looked up off the carrier (the lookup blocks in native code). */
    private static InetSocketAddress resolve(InetSocketAddress address) throws UnknownHostException {
        String host = address.getHostString();
        InetSocketAddress resolved;
        try {
            resolved = new InetSocketAddress(InetAddress.ofLiteral(host), address.getPort());
        } catch (IllegalArgumentException notLiteral) {
            resolved = OffCarrier.run(() -> new InetSocketAddress(host, address.getPort()));
        }
        if (resolved.isUnresolved()) {
            throw new UnknownHostException(host); // as a JDK socket's connect says it
        }
        return resolved;
    }

    public SocketChannel channel() {
        return channel;
    }

    @Override
    public InputStream input() {
        return in;
    }

    @Override
    public OutputStream output() {
        return out;
    }

    @Override
    public void readTimeout(int millis) {
        readTimeoutNanos = millis * 1_000_000L;
    }

    /** The channel's socket adaptor, for options and addresses (TCP only); null for a bare descriptor. */
    @Override
    public Socket socket() {
        return channel == null ? null : channel.socket();
    }

    /** Sets {@code tcp}'s options: on the channel's socket, or on a bare descriptor by direct setsockopt calls. */
    @Override
    public void tune(TcpTuning tcp) throws IOException {
        if (channel != null) {
            tcp.apply(channel.socket());
            return;
        }
        Descriptor d = descriptor;
        d.enter();
        try {
            NativeIo.INSTANCE.apply(tcp, NativeIo.errnoBox(), fd);
        } finally {
            d.leave();
        }
    }

    /** False once closed (the descriptor itself, not only asked to close). */
    public boolean isOpen() {
        return descriptor.isOpen();
    }

    /** Closes the channel, at once or, if a native call uses its descriptor now, as that call ends. From any thread. */
    @Override
    public void close() {
        descriptor.close();
    }

    /**
     * One direct recv(2) or send(2) of {@code b[off, off + len)}, retried on EINTR: what it
     * returned (for a read, 0 is the end of the stream), or {@link #NOT_READY}.
     */
    private long direct(boolean write, byte[] b, int off, int len) throws IOException {
        NativeIo io = NativeIo.INSTANCE;
        while (true) {
            long n;
            int e = 0;
            Descriptor d = descriptor;
            d.enter();
            try {
                // The carrier's box: read before anything that could park this thread (a close
                // that leave() finishes may wait for a lock) and let another use it.
                MemorySegment errno = Carriers.errnoBox();
                n = write ? io.write(errno, fd, b, off, len) : io.read(errno, fd, b, off, len);
                if (n < 0) {
                    e = io.errno(errno);
                }
            } finally {
                d.leave();
            }
            if (n >= 0) {
                return n;
            }
            if (e == NativeIo.EAGAIN) {
                return NOT_READY;
            }
            if (e != NativeIo.EINTR) {
                throw io.failure(e);
            }
        }
    }

    /** A channel failure as a JDK socket reports it: a SocketException. */
    private IOException failure(IOException e) {
        if (e instanceof ClosedChannelException) {
            return new SocketException("Socket closed");
        }
        return e instanceof SocketException ? e : new SocketException(e.getMessage());
    }

    private final class In extends InputStream {
        /** NIO's reads only: the caller's array wrapped, kept while the caller reads into the same array. */
        private ByteBuffer wrapper;
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            ByteBuffer buf = null;
            if (fd < 0) {
                buf = wrapper;
                if (buf == null || buf.array() != b) {
                    buf = ByteBuffer.wrap(b);
                    wrapper = buf;
                }
                buf.limit(off + len).position(off);
            }
            long timeout = readTimeoutNanos;
            long deadline = timeout > 0 ? System.nanoTime() + timeout : 0;
            Descriptor d = descriptor;
            while (true) {
                if (d.readable) {
                    d.readable = false; // before the read: bytes that come after it are reported again
                    int n;
                    try {
                        if (buf == null) {
                            long got = direct(false, b, off, len);
                            n = got == NOT_READY ? 0 : got == 0 ? -1 : (int) got;
                        } else {
                            n = channel.read(buf);
                        }
                    } catch (IOException e) {
                        d.readable = true; // an error is reported once: the next read must see it too
                        throw failure(e);
                    }
                    if (n != 0) {
                        if (n == len || n < 0 || d.hungUp) {
                            // More may wait; the end of the stream (seen, or reported before this
                            // read drained the bytes ahead of it) stays readable.
                            d.readable = true;
                        }
                        return n;
                    }
                }
                d.awaitReadable(deadline);
            }
        }

        @Override
        public void close() {
            ChannelConduit.this.close();
        }
    }

    /**
     * Writes wrap the caller's array afresh each time (one small object): writers pass many
     * arrays (a server's read buffer, built messages), and a kept wrapper would keep the last of
     * them alive for as long as the client idles.
     */
    private final class Out extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            Descriptor d = descriptor;
            if (fd >= 0) {
                Objects.checkFromIndexSize(off, len, b.length);
                for (int done = 0; done < len; ) {
                    long n = direct(true, b, off + done, len - done);
                    if (n > 0) {
                        done += (int) n;
                    } else {
                        noRoom(d);
                    }
                }
                return;
            }
            ByteBuffer buf = ByteBuffer.wrap(b, off, len);
            while (buf.hasRemaining()) {
                int n;
                try {
                    n = channel.write(buf);
                } catch (IOException e) {
                    throw failure(e);
                }
                if (n == 0) {
                    noRoom(d);
                }
            }
        }

        /**
         * After a write found no room: the first time, clear the flag and let the caller try
         * again (room made before the flag was cleared was reported before it); then wait.
         */
        private static void noRoom(Descriptor d) throws IOException {
            if (d.writable) {
                d.writable = false;
            } else {
                d.awaitWritable(0);
            }
        }

        @Override
        public void close() {
            ChannelConduit.this.close();
        }
    }
}
