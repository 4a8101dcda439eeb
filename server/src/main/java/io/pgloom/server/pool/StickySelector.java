package io.pgloom.server.pool;

import io.pgloom.wire.backend.Endpoint;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * PgBouncer's {@code load_balance_hosts = disable}: new connections go to the host the last one
 * went to, the first of the list to begin with; the next host is taken only when that one is in
 * its server_login_retry window because connecting to it failed.
 *
 * <p>Threading: guarded by the lock of the one pool that uses it.
 */
public final class StickySelector implements EndpointSelector {
    /** The host connections go to while it works. */
    private Endpoint current;

    @Override
    public Endpoint next(List<Endpoint> endpoints, EndpointHealth health, ToIntFunction<Endpoint> open, long now) {
        int n = endpoints.size();
        int from = current == null ? 0 : Math.max(0, endpoints.indexOf(current)); // List.of refuses indexOf(null)
        for (int i = 0; i < n; i++) {
            Endpoint e = endpoints.get((from + i) % n);
            if (!health.heldBack(e, now)) {
                current = e;
                return e;
            }
        }
        current = endpoints.get(from % n);
        return current; // all held back: stay
    }
}
