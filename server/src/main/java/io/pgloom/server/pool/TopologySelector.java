package io.pgloom.server.pool;

import io.pgloom.config.TargetSessionAttrs;
import io.pgloom.failover.Topology;
import io.pgloom.wire.backend.Endpoint;
import java.util.List;
import java.util.function.ToIntFunction;

/**
 * The hosts of a pool whose entry has a target_session_attrs: only those the {@link Topology}
 * says suit it (the primary for read-write, fit standbys for standby, ...), then the entry's
 * load_balance_hosts among them.
 *
 * <p>Threading: guarded by the lock of the one pool that uses it; the topology is read without
 * blocking.
 */
public final class TopologySelector implements EndpointSelector {
    private final Topology topology;
    private final TargetSessionAttrs attrs;
    private final EndpointSelector among;

    public TopologySelector(Topology topology, TargetSessionAttrs attrs, EndpointSelector among) {
        this.topology = topology;
        this.attrs = attrs;
        this.among = among;
    }

    @Override
    public Endpoint next(List<Endpoint> endpoints, EndpointHealth health, ToIntFunction<Endpoint> open, long now) {
        return among.next(endpoints, health, open, now);
    }

    @Override
    public List<Endpoint> candidates(List<Endpoint> endpoints, long now) {
        return topology.candidates(endpoints, attrs, now);
    }

    @Override
    public boolean suits(Endpoint endpoint, long now) {
        return topology.suits(endpoint, attrs, now);
    }

    @Override
    public boolean balances() {
        return among.balances();
    }
}
