package io.pgloom.server.control;

import java.util.List;

/**
 * Takes the CancelRequests whose key another pgloom (or PgBouncer) process handed out: with
 * so_reuseport, or behind a load balancer, a cancel often reaches a process other than the one
 * its client is connected to. The peer forwarder sends each to the peer its key names
 * ({@link Pooler#foreignCancels}); a cluster with a dynamic peer list may take its place later.
 * With nothing installed they are dropped with a log line.
 *
 * <p>Threading: called on the virtual thread of the connection that carried the CancelRequest,
 * which closes once this returns. It may block (a connection to the peer), but only for a
 * bounded time: nothing else waits for it, yet the connection stays open meanwhile.
 */
@FunctionalInterface
public interface ForeignCancels {
    /**
     * Forwards the CancelRequest ({@code processId}, {@code secretKey}) to peer {@code peerId},
     * which checks the secret itself. Failures are the implementation's to log; the client who sent
     * the cancel gets no answer either way, as the protocol has it.
     */
    void cancel(int peerId, int processId, int secretKey);

    /** One row per peer for SHOW PEER_POOLS, by peer id; none unless the implementation keeps pools. */
    default List<PeerPoolView> peerPools() {
        return List.of();
    }

    /**
     * The cancels to one peer now, as SHOW PEER_POOLS counts them.
     *
     * @param activeCancelRequests  cancels handed to a connection to the peer (cl_active_cancel_req)
     * @param waitingCancelRequests cancels waiting for room under the peer's pool_size (cl_waiting_cancel_req)
     * @param activeCancelServers   connections to the peer sending a cancel (sv_active_cancel)
     * @param loggingIn             connections to the peer still connecting (sv_login)
     */
    record PeerPoolView(int peerId, int activeCancelRequests, int waitingCancelRequests, int activeCancelServers,
                        int loggingIn) {
    }
}
