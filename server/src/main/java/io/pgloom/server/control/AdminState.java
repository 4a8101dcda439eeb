package io.pgloom.server.control;

import io.pgloom.server.TaskScope;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.server.pool.Pool;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.SqlState;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the admin console's PAUSE, RESUME, DISABLE, ENABLE, RECONNECT, KILL, KILL_CLIENT and the
 * waits of PAUSE, WAIT_CLOSE and SHUTDOWN do: the paused and disabled databases, and the pools and
 * clients those commands act on.
 *
 * <p>Threading: the commands run on the console client's thread (SHUTDOWN's on its own); the data
 * path only reads the flags, through {@link #isPaused} (two volatile reads, and a concurrent set
 * lookup only while some database is paused) and {@link #isDisabled}. The waits poll, and end
 * when the pooler's scope closes.
 */
final class AdminState {
    // Logs as Pooler, as these lines did before the split: operators' filters match the logger name.
    private static final Logger log = LoggerFactory.getLogger(Pooler.class);

    private final Pools pools;
    private final ClientRegistry clients;
    /** The pooler's own scope: closed at shutdown, when no wait should outlast it. */
    private final TaskScope scope;
    /** PAUSE without a database (and SHUTDOWN WAIT_FOR_SERVERS): every pool waits. */
    private volatile boolean pausedAll;
    /** Databases paused by PAUSE db or KILL db, until RESUME. Changed under its own monitor, with {@link #someDatabasePaused}. */
    private final Set<String> pausedDatabases = ConcurrentHashMap.newKeySet();
    /** Whether {@link #pausedDatabases} has any: the data path's one volatile read when nothing is paused. */
    private volatile boolean someDatabasePaused;
    /** Databases where DISABLE refuses new logins, until ENABLE. */
    private final Set<String> disabledDatabases = ConcurrentHashMap.newKeySet();

    AdminState(Pools pools, ClientRegistry clients, TaskScope scope) {
        this.pools = pools;
        this.clients = clients;
        this.scope = scope;
    }

    /** Whether new transactions on {@code database} wait for RESUME. */
    boolean isPaused(String database) {
        return pausedAll || someDatabasePaused && pausedDatabases.contains(database);
    }

    boolean isPausedAll() {
        return pausedAll;
    }

    boolean isDisabled(String database) {
        return disabledDatabases.contains(database);
    }

    /** PAUSE: new transactions of {@code database} (all if null) wait; idle servers close now, busy ones when released. */
    void pause(String database) {
        if (database == null) {
            pausedAll = true;
        } else {
            pauseDatabase(database);
        }
        log.info("paused {}", database == null ? "all databases" : "database " + database);
        pools.of(database).forEach(p -> p.closeIdle("database paused"));
    }

    /** RESUME: waiting clients go on. False if nothing was paused there. */
    boolean resume(String database) {
        boolean was;
        synchronized (pausedDatabases) {
            was = database == null ? pausedAll : pausedDatabases.remove(database);
            if (database == null) {
                pausedAll = false;
                pausedDatabases.clear(); // PgBouncer's RESUME also ends a per-database pause
            }
            someDatabasePaused = !pausedDatabases.isEmpty();
        }
        if (was) {
            log.info("resumed {}", database == null ? "all databases" : "database " + database);
            pools.of(database).forEach(Pool::wakeAll);
        }
        return was;
    }

    private void pauseDatabase(String database) {
        synchronized (pausedDatabases) {
            pausedDatabases.add(database);
            someDatabasePaused = true;
        }
    }

    void disable(String database) {
        disabledDatabases.add(database);
        log.info("database {} disabled: new logins refused", database);
    }

    void enable(String database) {
        disabledDatabases.remove(database);
        log.info("database {} enabled", database);
    }

    /** RECONNECT: every server of {@code database} (all if null) is replaced once released. */
    void reconnect(String database) {
        log.info("RECONNECT {}: servers close as they are released", database == null ? "all databases" : database);
        pools.of(database).forEach(p -> p.reconnect("RECONNECT"));
    }

    /** KILL: pauses {@code database} (all if null) and drops its clients and servers at once. */
    void kill(String database) {
        if (database == null) {
            pausedAll = true;
        } else {
            pauseDatabase(database);
        }
        log.info("KILL {}: paused, dropping its clients and servers", database == null ? "(all databases)" : database);
        for (ClientSession c : clients.snapshot()) {
            Pool p = c.pool();
            if (p != null && (database == null || p.key().database().equals(database))) {
                c.closeWith(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "database removed"));
            }
        }
        pools.of(database).forEach(p -> p.closeAll("database removed"));
    }

    /** KILL_CLIENT: closes the client whose SHOW CLIENTS id is {@code id}, and its server. False if none. */
    boolean killClient(long id) {
        ClientSession c = clients.byId(id);
        if (c == null) {
            return false;
        }
        c.closeWith(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "admin forced disconnect"));
        return true;
    }

    /** Waits until {@code database}'s pools (all if null) hold no server: PAUSE returns then. */
    void awaitNoServers(String database) throws InterruptedException {
        while (!scope.isClosed() && pools.of(database).stream().anyMatch(p -> p.serverCount() > 0)) {
            Thread.sleep(20);
        }
    }

    /** Waits until no server marked by RECONNECT or RELOAD is still open (WAIT_CLOSE). */
    void awaitCloseNeeded(String database) throws InterruptedException {
        while (!scope.isClosed() && pools.of(database).stream().anyMatch(Pool::hasCloseNeeded)) {
            Thread.sleep(20);
        }
    }

    /** Waits until only admin console clients are left (SHUTDOWN WAIT_FOR_CLIENTS). */
    void awaitNoClients() throws InterruptedException {
        while (!scope.isClosed() && clients.hasPoolClients()) {
            Thread.sleep(20);
        }
    }
}
