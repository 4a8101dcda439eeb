package io.pgloom.server.frontend;

import io.pgloom.server.backend.DedicatedServer;
import io.pgloom.server.pool.Pool;
import io.pgloom.wire.protocol.Backend;
import io.pgloom.wire.protocol.FrameReader;
import io.pgloom.wire.protocol.ProtocolException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A replication client (startup parameter {@code replication}) after its login: physical
 * streaming ({@code true}: pg_basebackup, pg_receivewal, a standby) or logical
 * ({@code database}: a subscription, pg_recvlogical). Its walsender serves nobody else, so it
 * gets a {@link DedicatedServer} for its whole life, opened with its own startup parameters, and
 * the bytes pass through untouched both ways (replication commands, CopyBoth streams, and the SQL
 * a logical connection may run) until either side goes; then the server is closed, never pooled.
 *
 * <p>Threading: the client's thread carries client to server; one thread in the pool's scope
 * carries server to client. Whichever side ends first closes the other.
 */
final class ReplicationRelay {
    private final ClientSession client;
    private final ClientOutput out;
    private final FrameReader reader;
    private final Pool pool;
    private final DedicatedServer server;
    /** Why the server's side ended, when it ended first: what the client's close line then says. */
    private final AtomicReference<String> serverEnd = new AtomicReference<>();

    ReplicationRelay(ClientSession client, ClientOutput out, FrameReader reader, Pool pool, DedicatedServer server) {
        this.client = client;
        this.out = out;
        this.reader = reader;
        this.pool = pool;
        this.server = server;
    }

    /**
     * The replication mode a startup packet asks for, as PostgreSQL reads the parameter:
     * {@code "physical"}, {@code "logical"}, or null for an ordinary connection.
     */
    static String mode(Map<String, String> startupParameters) throws ProtocolException {
        String value = startupParameters.get("replication");
        if (value == null) {
            return null;
        }
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "database" -> "logical";
            case "true", "on", "yes", "1" -> "physical";
            case "false", "off", "no", "0" -> null;
            default -> throw new ProtocolException("invalid value for parameter \"replication\": \"" + value + "\"");
        };
    }

    /** The client's login reply: the server's own parameters and transaction status, pgloom's cancel key. */
    static byte[] loginReply(DedicatedServer server, int cancelPid, int cancelSecret) {
        ByteArrayOutputStream reply = new ByteArrayOutputStream(512);
        reply.writeBytes(Backend.authenticationOk());
        server.parameters().forEach((name, value) -> reply.writeBytes(Backend.parameterStatus(name, value)));
        reply.writeBytes(Backend.backendKeyData(cancelPid, cancelSecret));
        reply.writeBytes(Backend.readyForQuery(server.transactionStatus()));
        return reply.toByteArray();
    }

    /**
     * Relays until either side goes, closes the server, and returns why the client goes. False
     * start (the pool is closing): the server is closed at once.
     */
    String run() {
        if (!pool.scope().start("replication-" + server.id + "-" + pool.key(), this::serverToClient)) {
            server.close("pool is closing");
            return "pgloom is shutting down";
        }
        String reason;
        try {
            clientToServer();
            reason = "client closed the connection";
        } catch (IOException e) {
            String first = serverEnd.get();
            reason = first != null ? first : "client connection lost: " + e.getMessage();
        }
        server.close(reason);
        return reason;
    }

    /** The client's thread: everything the client sends goes to the server as it comes. */
    private void clientToServer() throws IOException {
        FrameReader r = reader;
        OutputStream to = server.out();
        while (r.available() > 0 || r.fill()) {
            int n = r.available();
            to.write(r.buffer(), r.position(), n);
            r.advance(n);
            client.touch();
            pool.stats.bytesReceived.add(n);
        }
    }

    /** The reader thread: everything the server sends goes to the client as it comes. */
    private void serverToClient() {
        FrameReader r = server.reader();
        String reason;
        while (true) {
            try {
                if (r.available() == 0 && !r.fill()) {
                    reason = "server closed the connection";
                    break;
                }
            } catch (IOException e) {
                // Closed by the client's side (it went first), or lost.
                reason = server.isClosed() ? null : "server connection lost: " + e.getMessage();
                break;
            }
            int n = r.available();
            try {
                out.write(r.buffer(), r.position(), n);
            } catch (IOException e) {
                reason = "client connection lost: " + e.getMessage();
                break;
            }
            r.advance(n);
            pool.stats.bytesSent.add(n);
        }
        if (reason != null) {
            serverEnd.compareAndSet(null, reason);
            server.close(reason);
            out.close(); // the client's thread wakes from its read and ends
        }
    }
}
