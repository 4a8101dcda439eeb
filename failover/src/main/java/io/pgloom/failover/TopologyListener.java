package io.pgloom.failover;

/**
 * Hears every change of a host's status, once, after the round that found it: the server closes
 * connections to a host that no longer suits their pool, and wakes clients that wait for a host.
 *
 * <p>Threading: called on the failover monitor's thread, outside the topology's lock; must not block.
 */
@FunctionalInterface
public interface TopologyListener {
    void changed(HostStatus before, HostStatus after);
}
