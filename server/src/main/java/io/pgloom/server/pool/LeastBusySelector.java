package io.pgloom.server.pool;

import io.pgloom.wire.backend.Endpoint;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * Round-robin that evens out: a new connection goes to the host this pool holds the fewest
 * connections to, among those outside their server_login_retry window; hosts with as few take
 * turns. With no connection anywhere it is the plain cycle, so it spreads as
 * {@link RoundRobinSelector} does; when a standby comes back (or the pool shed connections to
 * even out, see {@link Pool#hostChanged}) the returning host is filled first.
 *
 * <p>It counts this pool's connections only: other pools on the same hosts are their own.
 *
 * <p>Threading: guarded by the lock of the one pool that uses it.
 */
public final class LeastBusySelector implements EndpointSelector {
    /** Where the turn among equally busy hosts is; wraps around harmlessly (floorMod). */
    private int turn;

    @Override
    public Endpoint next(List<Endpoint> endpoints, EndpointHealth health, ToIntFunction<Endpoint> open, long now) {
        int n = endpoints.size();
        Endpoint best = null;
        int bestOpen = Integer.MAX_VALUE;
        int bestStep = 0;
        for (int i = 0; i < n; i++) {
            Endpoint e = endpoints.get(Math.floorMod(turn + i, n));
            if (health.heldBack(e, now)) {
                continue;
            }
            int count = open.applyAsInt(e);
            if (count < bestOpen) {
                best = e;
                bestOpen = count;
                bestStep = i;
            }
        }
        if (best == null) {
            return endpoints.get(Math.floorMod(turn++, n)); // all held back: the one whose turn it is
        }
        turn += bestStep + 1;
        return best;
    }

    @Override
    public boolean balances() {
        return true;
    }
}
