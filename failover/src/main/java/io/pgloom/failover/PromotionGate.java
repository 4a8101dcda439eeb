package io.pgloom.failover;

import io.pgloom.wire.backend.Endpoint;

/**
 * Who must agree before pgloom promotes a standby. A single instance decides alone
 * ({@link #ALONE}); in a cluster, a majority of instances must have lost the same primary and
 * agree on the same standby, so that one instance cut off from the primary alone promotes nothing.
 */
@FunctionalInterface
public interface PromotionGate {
    /** The one instance decides. */
    PromotionGate ALONE = proposal -> true;

    /** Whether the promotion may go ahead now. May block briefly (a cluster round trip); not on a pool's lock. */
    boolean approve(Proposal proposal) throws InterruptedException;

    /**
     * A promotion about to happen.
     *
     * @param lostPrimary the primary that has been unreachable for primary_grace
     * @param candidate   the standby that replayed furthest
     * @param candidateLsn how far it is (received or replayed)
     */
    record Proposal(Endpoint lostPrimary, Endpoint candidate, long candidateLsn) {
    }
}
