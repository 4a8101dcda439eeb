package io.pgloom.server.frontend;

import io.pgloom.server.net.Transport;
import io.pgloom.wire.protocol.Backend;
import io.pgloom.wire.protocol.FrameReader;
import io.pgloom.wire.protocol.ProtocolException;
import io.pgloom.wire.protocol.StartupRequest;
import io.pgloom.wire.tls.TlsAcceptor;
import java.io.EOFException;
import java.io.IOException;
import javax.net.ssl.SSLException;

/**
 * A client connection before there is a session: the SSLRequests and GSSENCRequests a client may
 * send first, then its StartupMessage, or a CancelRequest instead, which ends the connection.
 * The connection may be upgraded to TLS on the way ({@link Transport.Upgrade}); then the client is
 * read through a new reader and written through the encrypted transport.
 *
 * <p>Threading: the client's own thread only, once per connection, before the login. The
 * janitor may write a client_login_timeout error meanwhile: every answer here goes through the
 * client's locked output.
 */
final class Negotiation {
    private static final byte[] REFUSED = {'N'};
    private static final byte[] ACCEPTED = {'S'};
    /**
     * The first byte of a TLS handshake record: a client that starts with it began TLS without an
     * SSLRequest (PostgreSQL 17's sslnegotiation=direct). No startup packet starts with it: its
     * length would be over 369 MB.
     */
    private static final int TLS_HANDSHAKE_RECORD = 0x16;

    /** Where a CancelRequest is taken: it names a session by its BackendKeyData. */
    @FunctionalInterface
    interface Cancels {
        void cancel(int processId, int secretKey);
    }

    private final ClientOutput out;
    /** Encrypts the connection after an SSLRequest; null: TLS is refused with 'N'. */
    private final Transport.Upgrade tls;
    /** client_tls_sslmode is require or stricter: a startup packet in plain text is refused. */
    private final boolean tlsRequired;
    private boolean encrypted;
    private FrameReader reader;
    /** The client asked for TLS and was told no: the likely reason if it hangs up before its startup packet. */
    private boolean tlsRefused;
    private String endReason;

    /**
     * {@code tls}: null when TLS is off or the client came in over the Unix socket (never
     * encrypted, as in PgBouncer and PostgreSQL); {@code tlsRequired} only with an upgrade.
     */
    Negotiation(FrameReader reader, ClientOutput out, Transport.Upgrade tls, boolean tlsRequired) {
        this.reader = reader;
        this.out = out;
        this.tls = tls;
        this.tlsRequired = tls != null && tlsRequired;
    }

    /**
     * Reads the client's requests up to its StartupMessage and returns it; null when the
     * connection ends without one, because a cancel request was handled or the client hung up
     * ({@link #endReason} says which). Throws {@link ProtocolException} for a request that breaks
     * the protocol (a bad length, an unsupported protocol version, plain text pipelined behind an
     * SSLRequest that is accepted).
     */
    StartupRequest.Startup run(Cancels cancels) throws IOException {
        boolean first = true;
        while (true) {
            byte[] body;
            try {
                if (first) {
                    first = false;
                    reader.require(1);
                    if ((reader.buffer()[reader.position()] & 0xff) == TLS_HANDSHAKE_RECORD) {
                        directTls();
                    }
                }
                body = reader.readStartupMessage(StartupRequest.MAX_LENGTH);
            } catch (EOFException e) {
                endReason = tlsRefused ? "client closed the connection after pgloom refused TLS (client_tls_sslmode = disable,"
                        + " or the Unix socket)"
                        : "client closed the connection before its startup packet";
                return null;
            }
            switch (StartupRequest.decode(body, 0, body.length)) {
                case StartupRequest.SslRequest ssl -> sslRequested();
                // No GSSAPI encryption: 'N' tells the client to go on in plain text or give up.
                case StartupRequest.GssEncRequest gss -> out.send(REFUSED);
                case StartupRequest.Cancel cancel -> {
                    endReason = "cancel request handled";
                    cancels.cancel(cancel.processId(), cancel.secretKey());
                    return null;
                }
                case StartupRequest.Startup startup -> {
                    if (tlsRequired && !encrypted) {
                        // PgBouncer's words, which its test suite and users' scripts look for.
                        throw new ProtocolException("SSL required");
                    }
                    return startup;
                }
            }
        }
    }

    /**
     * We speak protocol 3.0 only: a client that asked for 3.x or protocol options is told so, and
     * can go on with 3.0. Called by the session once it knows who the client is (so that a failing
     * write is logged under the client's name).
     */
    void answerProtocolVersion(StartupRequest.Startup startup) throws IOException {
        if (startup.minorVersion() > 0 || !startup.protocolOptions().isEmpty()) {
            out.write(Backend.negotiateProtocolVersion(0, startup.protocolOptions()));
        }
    }

    private void sslRequested() throws IOException {
        if (encrypted) {
            throw new ProtocolException("SSL request inside an encrypted connection");
        }
        if (tls == null) {
            // 'N' tells the client to go on in plain text (or give up if it requires TLS).
            tlsRefused = true;
            out.send(REFUSED);
            return;
        }
        // CVE-2021-23214: bytes the client sent behind its SSLRequest came in plain text; read
        // after the upgrade they would pass for encrypted ones, letting a man in the middle inject
        // a startup packet or queries. PostgreSQL refuses such a client in these words.
        if (reader.available() > 0) {
            throw new ProtocolException("received unencrypted data after SSL request");
        }
        out.send(ACCEPTED);
        Transport secure;
        try {
            secure = tls.upgrade(out.transport(), new byte[0]);
        } catch (SSLException e) {
            // The handshake failed: a client certificate refused, no common protocol, garbage
            // instead of a ClientHello. There is no channel left to send an ErrorResponse on.
            throw new SSLException("TLS handshake failed: " + e.getMessage(), e);
        }
        out.upgraded(secure);
        reader = ClientSession.newReader(secure.input());
        encrypted = true;
    }

    /**
     * PostgreSQL 17's direct TLS: the client sent a ClientHello where a startup packet or an
     * SSLRequest would be. The bytes already read are the start of the handshake, handed to it.
     * As in PostgreSQL 17 the client must then have negotiated ALPN {@code postgresql}: that is
     * what says it meant PostgreSQL and not, say, HTTPS sent to the wrong port.
     */
    private void directTls() throws IOException {
        if (tls == null) {
            throw new ProtocolException("received direct TLS connection request without TLS support"
                    + " (client_tls_sslmode = disable, or the Unix socket)");
        }
        byte[] start = java.util.Arrays.copyOfRange(reader.buffer(), reader.position(), reader.limit());
        reader.advance(start.length);
        Transport secure;
        try {
            secure = tls.upgrade(out.transport(), start);
        } catch (SSLException e) {
            throw new SSLException("TLS handshake failed (direct TLS): " + e.getMessage(), e);
        }
        out.upgraded(secure);
        reader = ClientSession.newReader(secure.input());
        encrypted = true;
        if (!(secure instanceof Transport.Tls t) || !t.tls().applicationProtocol().equals(TlsAcceptor.POSTGRESQL_ALPN)) {
            // PostgreSQL 17's words.
            throw new ProtocolException("direct SSL connection without ALPN protocol negotiation extension");
        }
    }

    /** The reader to go on with: after a TLS upgrade, the one over the encrypted stream. */
    FrameReader reader() {
        return reader;
    }

    /** Why the connection ends here, when {@link #run} returned null. */
    String endReason() {
        return endReason;
    }
}
