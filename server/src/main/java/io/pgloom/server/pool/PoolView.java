package io.pgloom.server.pool;

import io.pgloom.config.PoolMode;
import java.util.List;

/**
 * One pool as SHOW POOLS shows it and the metrics export it: read from the live pool without its
 * lock (see {@link Pool#view}), so the figures may be a moment apart from each other, then read at
 * leisure.
 *
 * @param servers        every server connection that has logged in, each with its state
 * @param waitingClients clients waiting for a server (cl_waiting)
 * @param activeClients  clients of this pool that are not waiting (cl_active)
 * @param loggingIn      server connections being opened (sv_login)
 * @param maxWaitNanos   how long the longest waiter has waited (maxwait, maxwait_us)
 * @param stats          the pool's live counters
 */
public record PoolView(String database, String user, PoolMode poolMode, List<ConnectionView> servers,
                       int waitingClients, int activeClients, int loggingIn, long maxWaitNanos, PoolStats stats) {

    /** How a server connection is used right now, in PgBouncer's words. */
    enum ServerState {
        ACTIVE("active"), IDLE("idle"), USED("used"), TESTED("tested"), BEING_CANCELED("being_canceled");

        final String word;

        ServerState(String word) {
            this.word = word;
        }
    }

    /** Server connections in {@code state} (a word of SHOW SERVERS' state column). */
    public int servers(String state) {
        int n = 0;
        for (ConnectionView s : servers) {
            if (s.state().equals(state)) {
                n++;
            }
        }
        return n;
    }

    /** A copy that knows how many clients of the pool are connected in all. */
    public PoolView withClients(int connected) {
        return new PoolView(database, user, poolMode, servers, waitingClients,
                Math.max(0, connected - waitingClients), loggingIn, maxWaitNanos, stats);
    }
}
