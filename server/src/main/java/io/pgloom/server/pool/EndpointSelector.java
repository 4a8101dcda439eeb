package io.pgloom.server.pool;

import io.pgloom.wire.backend.Endpoint;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * Which endpoint a pool's next new server connection goes to. A failover-aware selector (the
 * primary for a read-write pool, a fit standby for a read-only one) plugs in here; what it learns
 * about hosts that fail reaches it through {@link EndpointHealth}.
 *
 * <p>Threading: called under the pool's lock, once per connection opened (never on the reuse of
 * an idle one), so it must answer at once from what it holds: no network round trip, no blocking.
 * One selector serves one pool.
 */
public interface EndpointSelector {
    /**
     * The endpoint to connect to, one of {@code endpoints} (never empty). Should prefer endpoints
     * {@code health} does not hold back at {@code now}; when it holds back all of them, returns
     * one anyway (the pool asks only when it has decided to connect). {@code open} tells how many
     * connections the pool holds to an endpoint, for a selector that evens them out.
     */
    Endpoint next(List<Endpoint> endpoints, EndpointHealth health, ToIntFunction<Endpoint> open, long now);

    /**
     * The endpoints a new connection may go to now: all of them, unless the pool's
     * target_session_attrs holds some back (a standby for a read-write pool). Empty: the pool waits
     * until the topology changes. Answers at once, as {@link #next} does.
     */
    default List<Endpoint> candidates(List<Endpoint> endpoints, long now) {
        return endpoints;
    }

    /** Whether a connection open to {@code endpoint} may still serve the pool (a primary that became a standby may not). */
    default boolean suits(Endpoint endpoint, long now) {
        return true;
    }

    /**
     * Whether the pool should even out its connections over the candidates when one joins them (a
     * standby back from down): then it sheds connections to the busier hosts, and this selector
     * sends new ones where there are fewest.
     */
    default boolean balances() {
        return false;
    }
}
