package io.pgloom.server.backend;

import io.pgloom.server.frontend.ClientSession;
import io.pgloom.server.net.SocketIds;
import io.pgloom.server.pool.ConnectionView;
import io.pgloom.server.pool.Pool;
import io.pgloom.wire.backend.BackendConnection;
import io.pgloom.wire.backend.BackendConnector;
import io.pgloom.wire.protocol.FrameReader;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A server connection that belongs to one client for the client's whole life and is closed when
 * the client goes: a replication connection (startup parameter {@code replication}), whose
 * walsender can never serve anyone else. It takes a slot of its pool and of the shared budgets
 * like any server connection (see {@link Pool#claimDedicated}), but is never idle, never reset and
 * never handed on, so none of {@link ServerConnection}'s life cycle applies: the bytes pass
 * through untouched in both directions.
 *
 * <p>Threading: the client's thread writes ({@link #out}); one reader thread in the pool's scope
 * reads ({@link #reader}); either may {@link #close}, once.
 */
public final class DedicatedServer {
    private static final Logger log = LoggerFactory.getLogger(DedicatedServer.class);

    public final int id = SocketIds.next();
    private final Pool pool;
    private final BackendConnector connector;
    private final BackendConnection login;
    private final long createdNanos = System.nanoTime();
    private final AtomicBoolean closed = new AtomicBoolean();
    /** The client that owns it, as SHOW SERVERS' link column names it. */
    private final String ownerPtr;
    /** "logical" or "physical": SHOW SERVERS' replication column. */
    private final String replication;
    /** This end's address, taken once, for SHOW SERVERS. */
    private final String localAddr;
    private final int localPort;

    public DedicatedServer(Pool pool, BackendConnector connector, BackendConnection login, String ownerPtr, String replication) {
        this.pool = pool;
        this.connector = connector;
        this.login = login;
        this.ownerPtr = ownerPtr;
        this.replication = replication;
        this.localAddr = login.conduit().socket().getLocalAddress().getHostAddress();
        this.localPort = login.conduit().socket().getLocalPort();
    }

    /** This connection as a SHOW SERVERS row: always active, linked to its owner. No lock. */
    public ConnectionView view(long now, long nowMillis) {
        long created = ConnectionView.epochMillis(createdNanos, now, nowMillis);
        return new ConnectionView("S", pool.key().user(), pool.key().database(), "active", login.endpoint().host(),
                login.endpoint().port(), localAddr, localPort, created, created, 0, closed.get(), "S-" + id, ownerPtr,
                login.processId(), login.tls(), login.parameters().getOrDefault("application_name", ""), 0, id, replication);
    }

    /** The ParameterStatus values the server reported at login: what the client's login reply passes on. */
    public Map<String, String> parameters() {
        return login.parameters();
    }

    /** The status byte of the ReadyForQuery that ended the server's login. */
    public char transactionStatus() {
        return login.transactionStatus();
    }

    /** The server's output: written by the owning client's thread only. */
    public OutputStream out() {
        return login.out();
    }

    /** The server's read buffer, which may already hold bytes sent after the login: read by one thread only. */
    public FrameReader reader() {
        return login.reader();
    }

    /** Forwards a client's cancel to this connection's backend, within {@code limit} (zero: no limit). */
    public void cancel(Duration limit) throws IOException {
        connector.cancel(login.endpoint(), login.processId(), login.secretKey(), limit);
    }

    /** Closes the connection, once, logs why and gives its slot back to the pool. Any thread. */
    public void close(String reason) {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        login.conduit().close();
        if (pool.settings().logDisconnections()) {
            log.info("{} {}: closing because: {} (age={})", this, pool.key(), reason,
                    ClientSession.age(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - createdNanos)));
        }
        pool.metrics().serverClosed(pool.key(), reason);
        pool.dedicatedClosed(this);
    }

    public boolean isClosed() {
        return closed.get();
    }

    @Override
    public String toString() {
        return "S-" + id + "(" + login.endpoint().host() + ":" + login.endpoint().port() + " pid " + login.processId() + ")";
    }
}
