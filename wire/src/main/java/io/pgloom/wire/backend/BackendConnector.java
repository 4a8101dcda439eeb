package io.pgloom.wire.backend;

import io.pgloom.wire.protocol.FrameReader;
import io.pgloom.wire.protocol.MessageBuilder;
import io.pgloom.wire.protocol.PgloomError;
import io.pgloom.wire.protocol.StartupRequest;
import io.pgloom.wire.tcp.Conduit;
import io.pgloom.wire.tls.TlsConnector;
import io.pgloom.wire.tls.TlsStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.cert.CertificateException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.Map;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSession;

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
            conduit.readTimeout(options.connectTimeoutMillis());
            InputStream in = conduit.input();
            OutputStream out = conduit.output();
            String encryption = "";
            TlsStream tls = options.tls() == null ? null : startTls(endpoint, conduit);
            if (tls != null) {
                in = tls.input();
                out = tls.output();
                SSLSession session = tls.session();
                encryption = session.getProtocol() + "/" + session.getCipherSuite();
            }
            FrameReader reader = new FrameReader(in, READ_BUFFER, MAX_READ_BUFFER);
            LoginExchange login = new LoginExchange(reader, out, credentials);
            login.run(database, startupParameters);
            conduit.readTimeout(0);
            return new BackendConnection(endpoint, conduit, out, reader, Map.copyOf(login.parameters),
                    login.processId, login.secretKey, login.transactionStatus, encryption);
        } catch (IOException | PgloomError | RuntimeException e) {
            conduit.close();
            throw e;
        }
    }

    /**
     * Sends an SSLRequest and, when the server answers 'S', runs the TLS handshake; null when it
     * answers 'N' and the mode lets pgloom go on in plain text (allow, prefer). The answer is read
     * one byte at a time from the socket's own stream, so nothing the server sent after it can be
     * taken for part of the encrypted stream (CVE-2021-23222): it would reach the TLS engine and
     * fail the handshake.
     */
    private TlsStream startTls(Endpoint endpoint, Conduit conduit) throws IOException {
        TlsConnector tls = options.tls();
        OutputStream out = conduit.output();
        out.write(new MessageBuilder().int32(StartupRequest.SSL_REQUEST).build());
        out.flush();
        InputStream in = conduit.input();
        int answer = in.read();
        switch (answer) {
            case 'S' -> {
                try {
                    return tls.connect(in, out, endpoint.host(), endpoint.port());
                } catch (SSLHandshakeException e) {
                    throw handshakeFailed(e);
                }
            }
            case 'N' -> {
                if (tls.mode().requiresTls()) {
                    throw new IOException("server does not support SSL, but server_tls_sslmode = " + tls.mode().configName());
                }
                return null;
            }
            case -1 -> throw new EOFException("server closed the connection after the SSLRequest");
            case 'E' -> throw new IOException("server answered the SSLRequest with an error (a server older than"
                    + " PostgreSQL 7.0, or not PostgreSQL)");
            default -> throw new IOException("server answered the SSLRequest with byte " + answer + ", not S or N");
        }
    }

    /**
     * A refused server certificate reads as OpenSSL says it, "certificate verify failed", which
     * is what operators' log alerts look for, followed by the JDK's reason (an unknown CA, a host
     * name the certificate does not name, an expired certificate).
     */
    private static SSLHandshakeException handshakeFailed(SSLHandshakeException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof CertificateException) {
                SSLHandshakeException named = new SSLHandshakeException("certificate verify failed: " + t.getMessage());
                named.initCause(e);
                return named;
            }
        }
        return e;
    }

    /**
     * Asks the server to cancel what backend {@code processId} is running, and waits until the
     * server closes the connection: PostgreSQL does so once it has signalled the backend, so a
     * return means the cancel was delivered. {@code limit} bounds the whole of it, connect
     * included (zero: no limit); its end is a {@link java.net.SocketTimeoutException}.
     *
     * <p>In plain text whatever server_tls_sslmode says, as libpq before PostgreSQL 17 sends its
     * cancels: PostgreSQL takes a CancelRequest before any pg_hba.conf rule (hostssl included)
     * applies, and the key in it can only cancel.
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
