package io.pgloom.server.control;

import java.util.function.IntSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends each CancelRequest where its key points. This process's own clients come first (also
 * keys handed out under an earlier peer_id); a key that carries another peer's id
 * ({@link CancelKeys#peerOf}) goes to {@link ForeignCancels}, which forwards it to that peer.
 * Anything else is an unknown key, dropped with a log line.
 *
 * <p>Threading: any connection's thread calls {@link #route}; the hook is swapped through a
 * volatile field, so a forwarder installed late (a cluster) takes over from the next cancel on.
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

    /** With nothing installed another peer's client is out of reach: say so, so a lost cancel can be explained. */
    static final ForeignCancels NO_FORWARDING = (peerId, processId, secretKey) -> log.info(
            "cancel request for client key {} of peer {} ignored: nothing forwards cancels to other peers",
            Integer.toHexString(processId), peerId);

    private final IntSupplier ownPeerId;
    private final LocalClients local;
    private volatile ForeignCancels foreign = NO_FORWARDING;

    /** {@code ownPeerId}: this process's peer_id now (0: peering off, every key is local). */
    CancelRouter(IntSupplier ownPeerId, LocalClients local) {
        this.ownPeerId = ownPeerId;
        this.local = local;
    }

    void foreign(ForeignCancels foreign) {
        this.foreign = foreign == null ? NO_FORWARDING : foreign;
    }

    ForeignCancels foreign() {
        return foreign;
    }

    /** A CancelRequest arrived on its own connection. */
    void route(int processId, int secretKey) {
        if (local.forwardCancel(processId, secretKey)) {
            return;
        }
        int own = ownPeerId.getAsInt();
        int peer = CancelKeys.peerOf(processId);
        // A negative pid has bit 31 set, which no peer's key has: it names no peer at all.
        if (own > 0 && processId >= 0 && peer != 0 && peer != own) {
            foreign.cancel(peer, processId, secretKey);
        } else {
            log.info("cancel request for unknown client key {} ignored", Integer.toHexString(processId));
        }
    }
}
