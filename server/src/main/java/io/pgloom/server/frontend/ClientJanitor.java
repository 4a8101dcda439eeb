package io.pgloom.server.frontend;

import io.pgloom.server.TaskScope;
import io.pgloom.server.control.Pooler;
import io.pgloom.server.control.PoolerSettings;
import io.pgloom.wire.protocol.ErrorResponse;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Enforces the client timeouts (client_login_timeout, client_idle_timeout,
 * idle_transaction_timeout, query_timeout, transaction_timeout, the last four per login user as
 * {@link ClientTimeouts} resolves them) and bounds how long sending a client its final error may take.
 *
 * <p>Why a janitor rather than socket read timeouts: a Unix-domain client is a
 * {@link java.nio.channels.SocketChannel}, whose blocking reads have no timeout, and a timed read
 * per message would cost the data path. So a client's thread just reads, and this one virtual
 * thread per {@link Pooler} wakes three times a second (as PgBouncer's own maintenance does),
 * looks at every connected client, and sends off those whose deadline has passed through the
 * same path as KILL_CLIENT ({@link ClientSession#closeWith}): the FATAL error under the client's
 * write lock, then the transport closed, so the client's own thread fails its read, notes no new
 * reason and logs its one "closing because" line as for any other end.
 *
 * <p>Threading: {@link #add} and {@link #remove} run on client threads; the loop on its own
 * thread. The loop never writes to a client: each send-off runs on a virtual thread of its own,
 * and a final write that a client does not read is cut short here by closing its transport once
 * {@link ClientOutput#FINAL_WRITE_NANOS} have passed.
 */
public final class ClientJanitor {
    private static final Logger log = LoggerFactory.getLogger(ClientJanitor.class);
    static final long TICK_MILLIS = 333;

    private final Pooler pooler;
    /** Every connected client, from its first byte to its disconnect (not only admitted ones). */
    private final Set<ClientSession> sessions = ConcurrentHashMap.newKeySet();
    /** Each login user's timeouts for the current config; the loop's thread only. */
    private final ClientTimeouts.ByUser timeouts = new ClientTimeouts.ByUser();

    public ClientJanitor(Pooler pooler) {
        this.pooler = pooler;
    }

    void add(ClientSession session) {
        sessions.add(session);
    }

    void remove(ClientSession session) {
        sessions.remove(session);
    }

    /** Connected clients now, those still before or in their login included. */
    public int connected() {
        return sessions.size();
    }

    /** The janitor's thread: runs until {@code scope} closes. */
    public void loop(TaskScope scope) {
        while (!scope.isClosed()) {
            try {
                Thread.sleep(TICK_MILLIS);
            } catch (InterruptedException e) {
                return;
            }
            try {
                tick(scope, System.nanoTime());
            } catch (RuntimeException e) {
                log.error("client timeout check failed", e);
            }
        }
    }

    private void tick(TaskScope scope, long now) {
        PoolerSettings settings = pooler.settings();
        for (ClientSession c : sessions) {
            if (c.output().forceCloseIfDue(now)) {
                log.debug("{}: final error not taken within {} ms, connection closed", c,
                        ClientOutput.FINAL_WRITE_NANOS / 1_000_000);
                continue;
            }
            ErrorResponse error = c.overdue(now, settings, timeouts);
            if (error != null) {
                c.markTimedOut();
                scope.start("client-timeout", () -> c.timeOut(error));
            }
        }
    }
}
