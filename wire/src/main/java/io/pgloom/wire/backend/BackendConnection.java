package io.pgloom.wire.backend;

import io.pgloom.wire.protocol.FrameReader;
import io.pgloom.wire.tcp.Conduit;
import java.io.OutputStream;
import java.util.Map;

/**
 * A connection to a PostgreSQL server just logged in: the server sent ReadyForQuery, and nothing
 * has been read past it. Whoever receives it owns the connection and must close it.
 *
 * <p>Threading: handed from the thread that logged in to its owner; the streams and the reader
 * are not thread-safe (one reader thread, one writer at a time).
 *
 * @param conduit           the connection (its socket, its close)
 * @param out               the connection's output stream: the socket's, or the TLS stream over it
 * @param reader            the socket's read buffer; it may already hold bytes the server sent
 *                          after ReadyForQuery, so all reads go through it, never the socket's stream
 * @param parameters        the ParameterStatus values the server reported during login
 * @param processId         BackendKeyData's process id, for cancel requests (0 if none came)
 * @param secretKey         BackendKeyData's secret key (0 if none came)
 * @param transactionStatus the status byte of the ReadyForQuery that ended the login
 * @param tls               SHOW SERVERS' tls column: protocol and cipher suite ({@code TLSv1.3/TLS_AES_256_GCM_SHA384}),
 *                          empty in plain text
 */
public record BackendConnection(Endpoint endpoint, Conduit conduit, OutputStream out, FrameReader reader,
        Map<String, String> parameters, int processId, int secretKey, char transactionStatus, String tls) {
}
