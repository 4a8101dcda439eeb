package io.pgloom.server.pool;

import io.pgloom.wire.backend.Endpoint;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * Takes the hosts of a multi-host entry in turn, as PgBouncer's round-robin
 * {@code load_balance_hosts} does, skipping those in their server_login_retry window. With every
 * host usable the order is the plain cycle host 1, 2, ..., n, 1, ...
 *
 * <p>Threading: guarded by the lock of the one pool that uses it.
 */
public final class RoundRobinSelector implements EndpointSelector {
    /** Where the turn is; wraps around harmlessly (floorMod). */
    private int turn;

    @Override
    public Endpoint next(List<Endpoint> endpoints, EndpointHealth health, ToIntFunction<Endpoint> open, long now) {
        int n = endpoints.size();
        for (int i = 0; i < n; i++) {
            Endpoint e = endpoints.get(Math.floorMod(turn + i, n));
            if (!health.heldBack(e, now)) {
                turn += i + 1;
                return e;
            }
        }
        return endpoints.get(Math.floorMod(turn++, n)); // all held back: the one whose turn it is
    }
}
