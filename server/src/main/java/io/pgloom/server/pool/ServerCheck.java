package io.pgloom.server.pool;

import io.pgloom.server.backend.ServerConnection;
import io.pgloom.server.control.PoolerSettings;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.wire.protocol.PgloomError;
import java.util.ArrayList;
import java.util.List;

/**
 * server_check_query for one {@link Pool}: which idle servers are due a check, and the check of
 * one, run by the client that took it from the pool.
 *
 * <p>Threading: {@link #due} reads one volatile; {@link #start}, {@link #owns} and {@link #count}
 * run under the pool's lock, which guards {@link #underCheck}; {@link #run} runs on the client's
 * thread outside the lock, and takes it only to settle the outcome.
 *
 * <p>A server under check is neither idle nor handed out, but it stays in the pool's server list
 * and in the budgets, and its slot is its checker's to settle, not {@link Pool#discard}'s: so the
 * slot of a server that fails passes straight to its replacement, and the client keeps its turn.
 */
final class ServerCheck {
    private final Pool pool;
    /** {@link PoolerSettings#checkAfterNanos}, kept here so the reuse path pays one comparison. */
    private volatile long afterNanos;
    /** Servers out of the pool for a check (PgBouncer's sv_tested). Guarded by the pool's lock. */
    private final List<ServerConnection> underCheck = new ArrayList<>();

    ServerCheck(Pool pool, PoolerSettings settings) {
        this.pool = pool;
        reconfigure(settings);
    }

    void reconfigure(PoolerSettings settings) {
        afterNanos = settings.checkAfterNanos();
    }

    /** Whether {@code s}, idle since its release, must be checked before reuse (server_check_delay); no lock. */
    boolean due(ServerConnection s, long now) {
        return now - s.idleSinceNanos() >= afterNanos;
    }

    /** Takes {@code s}, just taken from the idle list, out of the pool for a check. Under the pool's lock. */
    void start(ServerConnection s) {
        s.startCheck();
        underCheck.add(s);
    }

    /** Whether {@code s} is under check, so its checker settles its slot. Under the pool's lock. */
    boolean owns(ServerConnection s) {
        return underCheck.contains(s);
    }

    /** Servers under check now. Under the pool's lock. */
    int count() {
        return underCheck.size();
    }

    /** The check of {@code s} is over. Under the pool's lock. */
    private void end(ServerConnection s) {
        s.endCheck();
        underCheck.remove(s);
    }

    /**
     * Runs server_check_query on {@code s}, which {@code client} took from the pool, outside the
     * lock. A server that fails is closed and its slot (pool size, max_db_connections,
     * max_user_connections) passes straight to its replacement, so the client keeps its turn:
     * the next idle server (itself checked if due) or else a new connection, which needs no check.
     * The client never sees the failure. Returns null when opening the replacement failed at the
     * network level; the caller then waits in line, as after any failed open.
     */
    ServerConnection run(ServerConnection s, ClientSession client) throws PgloomError, InterruptedException {
        while (true) {
            PoolerSettings current = pool.settings();
            String failure;
            try {
                failure = s.internalQueries().check(current.checkQuerySql(), current.checkTimeoutNanos());
            } catch (InterruptedException e) {
                s.close("server_check_query interrupted");
                pool.lock.lock();
                try {
                    end(s);
                    pool.forget(s);
                } finally {
                    pool.lock.unlock();
                }
                pool.giveBackSlot();
                throw e;
            }
            ServerConnection next;
            boolean checkNext = false;
            pool.lock.lock();
            try {
                end(s);
                if (failure == null && !s.isClosed()) {
                    return s;
                }
                pool.forget(s); // its slot is ours now: it goes to the replacement or back to the budgets
                long now = System.nanoTime();
                next = pool.pollUsableIdle(now);
                if (next == null) {
                    pool.countOpening(); // the failed server's slot, taken over by the new connection
                } else if (due(next, now)) {
                    start(next);
                    checkNext = true;
                }
            } finally {
                pool.lock.unlock();
            }
            String reason = "server_check_query failed: " + (failure != null ? failure : "the connection closed");
            s.close(reason);
            if (next == null) {
                return pool.openConnection(client);
            }
            pool.giveBackSlot(); // the failed server's slot: another idle server took its place
            if (!checkNext) {
                return next;
            }
            s = next;
        }
    }
}
