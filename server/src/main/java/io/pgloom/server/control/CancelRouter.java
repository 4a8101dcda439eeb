package io.pgloom.server.control;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends each CancelRequest where its key points. The key's process id names the instance that
 * handed it out ({@link CancelKeys#instanceOf}): this instance's keys go to its own client, the
 * others' to {@link ForeignCancels}, where the cluster plugs in.
 *
 * <p>Threading: any connection's thread calls {@link #route}; the hook is swapped through a
 * volatile field, so a cluster that joins late takes over from the next cancel on.
 */
final class CancelRouter {
    // Logs as Pooler, as the cancel lines did before the split: operators' filters match the logger name.
    private static final Logger log = LoggerFactory.getLogger(Pooler.class);

    /** This instance's clients, found by their cancel key. */
    @FunctionalInterface
    interface LocalClients {
        /** Forwards the cancel to the client holding this key; false when no live client does (or the secret is wrong). */
        boolean forwardCancel(int processId, int secretKey);
    }

    /** Without a cluster a foreign key's client is out of reach: say so, so a lost cancel can be explained. */
    static final ForeignCancels NO_CLUSTER = (instanceId, processId, secretKey) -> log.info(
            "cancel request for client key {} of instance {} ignored: no cluster", Integer.toHexString(processId), instanceId);

    private final int instanceId;
    private final LocalClients local;
    private volatile ForeignCancels foreign = NO_CLUSTER;

    CancelRouter(int instanceId, LocalClients local) {
        this.instanceId = instanceId;
        this.local = local;
    }

    void foreign(ForeignCancels foreign) {
        this.foreign = foreign == null ? NO_CLUSTER : foreign;
    }

    /** A CancelRequest arrived on its own connection. */
    void route(int processId, int secretKey) {
        // A negative pid has bit 31 set, which no instance's key has: it names no instance at all.
        int instance = CancelKeys.instanceOf(processId);
        if (processId >= 0 && instance != instanceId) {
            foreign.cancel(instance, processId, secretKey);
        } else if (!local.forwardCancel(processId, secretKey)) {
            log.info("cancel request for unknown client key {} ignored", Integer.toHexString(processId));
        }
    }
}
