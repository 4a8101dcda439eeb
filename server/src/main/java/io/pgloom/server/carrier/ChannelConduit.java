package io.pgloom.server.carrier;

import io.pgloom.wire.tcp.Conduit;
import io.pgloom.wire.tcp.TcpTuning;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;

/**
 * A connected socket channel (TCP or Unix) in non-blocking mode, with blocking streams for the
 * virtual threads that use it: a read that finds nothing parks the reader on its carrier's
 * selector ({@link Readiness}); a write the socket cannot take whole parks the writer until the
 * socket drains. Errors read as a JDK socket's do ({@link SocketException}, "Socket closed"), so
 * the sessions above cannot tell the two kinds apart.
 *
 * <p>Threading: one reader and one writer at a time (the session's thread reads; writes hold the
 * writer's lock); {@link #close} from any thread. The reader's byte-array wrapper is kept and
 * reused while the caller's array stays the same (a session reads into one buffer), so a read
 * allocates nothing.
 */
public final class ChannelConduit implements Conduit {
    private final SocketChannel channel;
    private final Readiness readiness;
    private final In in = new In();
    private final Out out = new Out();
    /** Bounds each read (nanoseconds; 0: none): the server login's server_connect_timeout. */
    private volatile long readTimeoutNanos;

    private ChannelConduit(SocketChannel channel) {
        this.channel = channel;
        this.readiness = new Readiness(channel, SelectionKey.OP_READ);
    }

    /** An accepted or connected channel; switched to non-blocking mode here. */
    public static ChannelConduit of(SocketChannel channel) throws IOException {
        channel.configureBlocking(false);
        return new ChannelConduit(channel);
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
                while (!channel.finishConnect()) {
                    c.readiness.awaitWritable(SelectionKey.OP_CONNECT, deadline);
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

    /** The channel's socket adaptor, for options and addresses (TCP only). */
    @Override
    public Socket socket() {
        return channel.socket();
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closed anyway
        }
        readiness.wakeAll();
    }

    /** A channel failure as a JDK socket reports it: a SocketException. */
    private IOException failure(IOException e) {
        if (e instanceof ClosedChannelException) {
            return new SocketException("Socket closed");
        }
        return e instanceof SocketException ? e : new SocketException(e.getMessage());
    }

    private final class In extends InputStream {
        private ByteBuffer wrapper = ByteBuffer.allocate(0);

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
            ByteBuffer buf = wrapper;
            if (buf.array() != b) {
                buf = ByteBuffer.wrap(b);
                wrapper = buf;
            }
            buf.limit(off + len).position(off);
            long timeout = readTimeoutNanos;
            long deadline = timeout > 0 ? System.nanoTime() + timeout : 0;
            Readiness r = readiness;
            while (true) {
                if (r.readable) {
                    int n;
                    try {
                        n = channel.read(buf);
                    } catch (IOException e) {
                        throw failure(e);
                    }
                    if (n != 0) {
                        if (n > 0 && n < len) {
                            r.readable = false; // a short read drained the socket: wait before the next
                        }
                        return n;
                    }
                    r.readable = false;
                }
                r.awaitReadable(deadline);
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
            ByteBuffer buf = ByteBuffer.wrap(b, off, len);
            while (buf.hasRemaining()) {
                int n;
                try {
                    n = channel.write(buf);
                } catch (IOException e) {
                    throw failure(e);
                }
                if (n == 0) {
                    readiness.awaitWritable(SelectionKey.OP_WRITE, 0);
                }
            }
        }

        @Override
        public void close() {
            ChannelConduit.this.close();
        }
    }
}
