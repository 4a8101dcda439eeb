package io.pgloom.wire.backend;

import io.pgloom.wire.protocol.FrameReader;
import io.pgloom.wire.protocol.MessageBuilder;
import io.pgloom.wire.protocol.PgloomError;
import io.pgloom.wire.protocol.StartupRequest;
import io.pgloom.wire.tcp.Conduit;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;

/**
 * The one place pgloom opens connections to PostgreSQL hosts: to log in (for the pools), to send
 * a cancel, to probe a host for readiness (and later failover's health rounds). Keeping them here
 * means that server TLS (an SSLRequest, then the socket upgraded in place, before the startup
 * packet) changes this class and {@link BackendOptions} only.
 *
 * <p>Threading: immutable and shared; every method blocks the calling thread (a virtual thread)
 * on its own socket until done or its time limit passes, and an interrupt ends the wait by
 * closing the socket.
 */
public final class BackendConnector {
    /**
     * The read buffer of a logged-in connection: 8 KiB to start, up to 256 KiB for servers that
     * stream large results (the relay passes bigger frames through without buffering them whole).
     */
    private static final int READ_BUFFER = 8192;
    private static final int MAX_READ_BUFFER = 256 * 1024;

    private final BackendOptions options;

    public BackendConnector(BackendOptions options) {
        this.options = options;
    }

    public BackendOptions options() {
        return options;
    }

    /** A TCP connection to {@code endpoint}: no Nagle delay, keepalive and buffers as configured, within the connect timeout. */
    public Conduit connect(Endpoint endpoint) throws IOException {
        // Unresolved: the dialer resolves the name where a blocking lookup does no harm.
        return options.dialer().connect(InetSocketAddress.createUnresolved(endpoint.host(), endpoint.port()),
                options.connectTimeoutMillis(), options.tcp());
    }

    /**
     * Connects and logs in as {@code credentials.user()} to {@code database}, sending
     * {@code startupParameters} in the startup packet. Each read of the login is bounded by the
     * connect timeout, so a server that accepts but never answers cannot hold the caller.
     *
     * @throws PgloomError the server's own login error (to pass on to the client unchanged), or
     *                     pgloom's when it has no secret the server's method can use, or the method
     *                     is one pgloom does not speak
     * @throws IOException the server cannot be reached, went away, or broke the protocol
     */
    public BackendConnection login(Endpoint endpoint, String database, Map<String, String> startupParameters,
            ServerCredentials credentials) throws IOException, PgloomError {
        Conduit conduit = connect(endpoint);
        try {
            FrameReader reader = new FrameReader(conduit.input(), READ_BUFFER, MAX_READ_BUFFER);
            OutputStream out = conduit.output();
            conduit.readTimeout(options.connectTimeoutMillis());
            LoginExchange login = new LoginExchange(reader, out, credentials);
            login.run(database, startupParameters);
            conduit.readTimeout(0);
            return new BackendConnection(endpoint, conduit, out, reader, Map.copyOf(login.parameters),
                    login.processId, login.secretKey, login.transactionStatus);
        } catch (IOException | PgloomError | RuntimeException e) {
            conduit.close();
            throw e;
        }
    }

    /**
     * Asks the server to cancel what backend {@code processId} is running, and waits until the
     * server closes the connection: PostgreSQL does so once it has signalled the backend, so a
     * return means the cancel was delivered. {@code limit} bounds the whole of it, connect
     * included (zero: no limit); its end is a {@link java.net.SocketTimeoutException}.
     */
    public void cancel(Endpoint endpoint, int processId, int secretKey, Duration limit) throws IOException {
        long limitNanos = limit.toNanos();
        long deadline = System.nanoTime() + limitNanos;
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(endpoint.host(), endpoint.port()), limitNanos > 0 ? millisLeft(deadline) : 0);
            OutputStream out = socket.getOutputStream();
            out.write(new MessageBuilder().int32(StartupRequest.CANCEL_REQUEST).int32(processId).int32(secretKey).build());
            out.flush();
            socket.setSoTimeout(limitNanos > 0 ? millisLeft(deadline) : 0);
            socket.getInputStream().read();
        }
    }

    /**
     * Whether something accepts TCP connections at {@code endpoint} within {@code timeoutMillis}:
     * a bare connect, closed at once, that costs the server no backend process. Throws the connect's
     * failure.
     */
    public void probe(Endpoint endpoint, int timeoutMillis) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(endpoint.host(), endpoint.port()), timeoutMillis);
        }
    }

    /** Milliseconds until {@code deadline} (nanoTime), at least 1: a socket timeout of 0 would mean none. */
    private static int millisLeft(long deadline) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, (deadline - System.nanoTime()) / 1_000_000));
    }

}
