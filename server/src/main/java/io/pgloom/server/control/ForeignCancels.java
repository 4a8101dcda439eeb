package io.pgloom.server.control;

/**
 * Takes the CancelRequests whose key another pgloom instance handed out: behind a load balancer a
 * cancel often reaches an instance other than the one its client is connected to. The cluster
 * forwards each to the instance its key names ({@link Pooler#foreignCancels}); without a cluster
 * they are dropped with a log line.
 *
 * <p>Threading: called on the virtual thread of the connection that carried the CancelRequest,
 * which closes once this returns. It may block (a cluster round trip), but only for a bounded
 * time: nothing else waits for it, yet the connection stays open meanwhile.
 */
@FunctionalInterface
public interface ForeignCancels {
    /**
     * Forwards the CancelRequest ({@code processId}, {@code secretKey}) to instance {@code instanceId},
     * which checks the secret itself. Failures are the implementation's to log; the client who sent
     * the cancel gets no answer either way, as the protocol has it.
     */
    void cancel(int instanceId, int processId, int secretKey);
}
