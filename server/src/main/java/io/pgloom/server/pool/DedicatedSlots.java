package io.pgloom.server.pool;

import io.pgloom.config.DatabaseEntry;
import io.pgloom.server.backend.DedicatedServer;
import io.pgloom.server.backend.ServerConnection;
import io.pgloom.wire.backend.BackendConnector;
import io.pgloom.wire.backend.Endpoint;
import io.pgloom.wire.protocol.PgloomError;
import io.pgloom.wire.protocol.SqlState;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The slots of one pool's dedicated connections: servers one client owns for its whole life (a
 * replication connection, see {@link DedicatedServer}). Each holds a slot of the pool's size and of
 * the shared budgets from its claim to its close, as any server connection does, but never joins
 * the idle list or the wait line.
 *
 * <p>Threading: {@link #held} and the waits are guarded by the pool's lock (the same
 * {@link ReentrantLock}); the pool signals {@link #signalRoom} under it whenever a slot may have
 * come free. Logging in happens outside the lock, as for every connection.
 */
final class DedicatedSlots {
    private static final Logger log = LoggerFactory.getLogger(DedicatedSlots.class);
    private static final long MAX_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(500);

    private final Pool pool;
    private final ReentrantLock lock;
    /** What a client waiting for a slot waits on. */
    private final Condition roomFreed;
    /** Slots held, from claim to close. Guarded by the lock. */
    private int held;
    /** The dedicated connections open now, for {@link #closeAll}. */
    private final Set<DedicatedServer> open = ConcurrentHashMap.newKeySet();

    DedicatedSlots(Pool pool, ReentrantLock lock) {
        this.pool = pool;
        this.lock = lock;
        this.roomFreed = lock.newCondition();
    }

    /** Slots held now. Under the lock. */
    int held() {
        return held;
    }

    /** A slot may have come free. Under the lock. */
    void signalRoom() {
        roomFreed.signalAll();
    }

    /**
     * Claims a slot, counted against pool_size and the shared budgets like any connection. A full
     * pool makes room by closing its least recently used idle connection ("evicted", as PgBouncer
     * says); with none idle the client waits, up to query_wait_timeout, for a slot to come free.
     * Returns the endpoint to connect to; the caller then calls {@link #open}, which gives the slot
     * back if the login fails.
     */
    Endpoint claim() throws PgloomError, InterruptedException {
        long waitLimit = pool.settings().queryWaitTimeout().toNanos();
        long deadline = waitLimit > 0 ? System.nanoTime() + waitLimit : Long.MAX_VALUE;
        while (true) {
            ServerConnection evict = null;
            boolean claimed = false;
            lock.lock();
            try {
                long now = System.nanoTime();
                if (pool.allHeldBack(now)) {
                    throw pool.loginFailing();
                }
                if (!pool.isPaused()) {
                    if (pool.hasRoom(0)) {
                        pool.claimRoom();
                        claimed = true;
                    } else {
                        evict = pool.takeLeastRecentlyUsedIdle();
                    }
                }
                if (!claimed && evict == null) {
                    if (now >= deadline) {
                        throw PgloomError.fatal(SqlState.PROTOCOL_VIOLATION, "query_wait_timeout");
                    }
                    // Bounded, as a waiter in line is: a budget freed in another pool costs at most this.
                    roomFreed.awaitNanos(Math.min(deadline - now, MAX_WAIT_NANOS));
                    continue;
                }
            } finally {
                lock.unlock();
            }
            if (evict != null) {
                // Its reader thread discards it and gives its slot back, which signals roomFreed.
                evict.close("evicted");
                awaitRoom(MAX_WAIT_NANOS);
                continue;
            }
            boolean taken = pool.takeBudgets(true);
            lock.lock();
            try {
                pool.unclaimRoom();
                if (taken) {
                    held++;
                    return pool.nextEndpoint();
                }
                pool.wakeLineHead();
            } finally {
                lock.unlock();
            }
            awaitRoom(TimeUnit.MILLISECONDS.toNanos(100));
        }
    }

    /** Waits until a slot may have come free, at most {@code nanos}, unless there is room already. */
    private void awaitRoom(long nanos) throws InterruptedException {
        lock.lock();
        try {
            if (!pool.hasRoom(0)) {
                roomFreed.awaitNanos(nanos);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * Opens the connection whose slot {@link #claim} claimed, to {@code to}, logging in with the
     * client's own startup parameters (replication, options and all) and the pool's credentials.
     * Throws the server's refusal as it came; the slot is then given back.
     */
    DedicatedServer open(Endpoint to, Map<String, String> startupParameters, String ownerPtr, String replication)
            throws PgloomError, IOException {
        DatabaseEntry db = pool.database();
        Map<String, String> params = new HashMap<>(startupParameters);
        params.remove("user");
        params.remove("database");
        String dbname = db.dbname() != null ? db.dbname() : db.name();
        var settings = pool.settings();
        BackendConnector connector = pool.connector();
        DedicatedServer s;
        long started = System.nanoTime();
        try {
            s = new DedicatedServer(pool, connector, connector.login(to, dbname, params, pool.loginCredentials()),
                    ownerPtr, replication);
        } catch (PgloomError e) {
            pool.logLoginRefused(to, e.response());
            pool.logNeverOpened(to, "login failed", started);
            pool.metrics().serverConnectFailed(pool.key(), true);
            closed(null);
            throw e;
        } catch (IOException | RuntimeException e) {
            log.warn("{}: connect failed: cannot connect to server {}:{}: {}", pool.key(), to.host(), to.port(), e.toString());
            pool.metrics().serverConnectFailed(pool.key(), false);
            closed(null);
            throw e;
        }
        lock.lock();
        try {
            pool.connectedTo(to);
        } finally {
            lock.unlock();
        }
        open.add(s);
        pool.stats.serverOpened();
        if (settings.logConnections()) {
            log.info("{} {}: new connection to server (from dedicated to one client)", s, pool.key());
        }
        return s;
    }

    /** Dedicated connection {@code s} closed, or (null) its login failed: its slot is free again. */
    void closed(DedicatedServer s) {
        if (s != null) {
            open.remove(s);
        }
        lock.lock();
        try {
            held--;
        } finally {
            lock.unlock();
        }
        pool.giveBackSlot();
    }

    /** The dedicated connections open now, as SHOW SERVERS rows. */
    void addViews(List<ConnectionView> rows, long now, long nowMillis) {
        open.forEach(s -> rows.add(s.view(now, nowMillis)));
    }

    /** Closes every dedicated connection (the pool or pgloom is closing). */
    void closeAll(String reason) {
        open.forEach(s -> s.close(reason));
    }
}
