package io.pgloom.server.frontend;

import io.pgloom.wire.protocol.FrameReader;
import java.io.IOException;

/**
 * A client that logged into the admin console (the virtual database {@code pgbouncer}), handed to
 * the {@link Pooler.Console} that serves it. Its socket is read only by the console, on the
 * client's own thread; writes go through the client's write lock, as a shutdown may write too.
 */
public final class ConsoleClient {
    private final ClientSession session;
    private final FrameReader reader;
    private final boolean owner;

    ConsoleClient(ClientSession session, FrameReader reader, boolean owner) {
        this.session = session;
        this.reader = reader;
        this.owner = owner;
    }

    /**
     * True for user pgbouncer over the Unix socket as pgloom's own OS user: let in without a
     * password, with admin rights, whatever admin_users says (PgBouncer's rule).
     */
    public boolean isOwner() {
        return owner;
    }

    /** The name the client logged in as (authenticated). */
    public String user() {
        return session.user();
    }

    /** The client's socket, framed; read only from the thread that runs the console. */
    public FrameReader reader() {
        return reader;
    }

    /** Writes protocol bytes to the client. */
    public void write(byte[] bytes) throws IOException {
        session.writeFromServer(null, bytes, 0, bytes.length);
    }

    /** The BackendKeyData this client was given (for its login reply). */
    public int cancelPid() {
        return session.cancelPid();
    }

    public int cancelSecret() {
        return session.cancelSecret();
    }

    /** The client sent a request: SHOW CLIENTS' request_time. */
    public void requested() {
        session.touch();
    }

    /** Logs an error the console sends this client, as log_pooler_errors asks. */
    public void poolerError(io.pgloom.wire.protocol.ErrorResponse error) {
        session.poolerError(error, null);
    }

    public ClientSession session() {
        return session;
    }

    @Override
    public String toString() {
        return session.toString();
    }
}
