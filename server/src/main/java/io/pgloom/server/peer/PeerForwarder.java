package io.pgloom.server.peer;

import io.pgloom.config.PeerEntry;
import io.pgloom.server.control.ForeignCancels;
import io.pgloom.server.control.Pooler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forwards a CancelRequest whose key carries another peer's id to that peer's entry in [peers],
 * as PgBouncer 1.25 does: the key's TTL bits are decremented first, and a key whose TTL is spent
 * (it went round three peers already: a [peers] entry points at the wrong process) is dropped,
 * as is a key naming a peer that [peers] lacks. Each forward waits at most cancel_wait_timeout
 * ({@link #UNBOUNDED_LIMIT} when that is 0), room under the peer's pool_size included.
 *
 * <p>[peers] is read from the pooler's current config at each cancel, so RELOAD (SIGHUP) applies
 * a changed section at once: a peer whose host, port or pool_size changed gets a fresh
 * {@link PeerPool} (cancels in flight on the old one finish there), a removed peer's pool goes.
 *
 * <p>Threading: any cancel connection's thread; the pools sit in a concurrent map.
 */
public final class PeerForwarder implements ForeignCancels {
    private static final Logger log = LoggerFactory.getLogger(PeerForwarder.class);
    /** The bound when cancel_wait_timeout is 0 (no limit): a forward must never hang for good. */
    static final Duration UNBOUNDED_LIMIT = Duration.ofSeconds(15);
    /** The TTL bits of a key's secret, as PgBouncer's CANCELLATION_TTL_MASK. */
    private static final int TTL_MASK = 0x3;

    private final Pooler pooler;
    private final ConcurrentHashMap<Integer, PeerPool> pools = new ConcurrentHashMap<>();

    public PeerForwarder(Pooler pooler) {
        this.pooler = pooler;
    }

    @Override
    public void cancel(int peerId, int processId, int secretKey) {
        String key = Integer.toHexString(processId);
        if ((secretKey & TTL_MASK) == 0) {
            log.warn("cancel request for client key {} of peer {} dropped: its TTL is spent (forwarded three times"
                    + " already; does a [peers] entry point at the wrong process?)", key, peerId);
            return;
        }
        PeerPool pool = pool(peerId);
        if (pool == null) {
            log.warn("cancel request for client key {} dropped: it names peer {}, which [peers] does not list", key, peerId);
            return;
        }
        Duration limit = pooler.settings().cancelWaitTimeout();
        pool.forward(processId, secretKey - 1, limit.isZero() ? UNBOUNDED_LIMIT : limit);
    }

    /** The pool of peer {@code peerId} as [peers] has it now; null when [peers] does not list it. */
    private PeerPool pool(int peerId) {
        PeerEntry entry = entry(peerId);
        if (entry == null) {
            pools.remove(peerId);
            return null;
        }
        int size = poolSize(entry);
        return pools.compute(peerId, (id, old) -> old != null && old.serves(entry, size) ? old : new PeerPool(entry, size));
    }

    private PeerEntry entry(int peerId) {
        for (PeerEntry p : pooler.config().peers()) {
            if (p.id() == peerId) {
                return p;
            }
        }
        return null;
    }

    /** pool_size of the entry, else default_pool_size, as SHOW PEERS shows it. */
    private int poolSize(PeerEntry entry) {
        return entry.poolSize().orElse(pooler.config().settings().integer("default_pool_size"));
    }

    /** One row per peer of [peers] now, by peer id; a peer no cancel went to yet shows zeros. */
    @Override
    public List<PeerPoolView> peerPools() {
        List<PeerPoolView> views = new ArrayList<>();
        for (PeerEntry p : pooler.config().peers()) {
            PeerPool pool = pools.get(p.id());
            views.add(pool != null && pool.serves(p, poolSize(p)) ? pool.view() : new PeerPoolView(p.id(), 0, 0, 0, 0));
        }
        pools.keySet().removeIf(id -> entry(id) == null);
        views.sort(Comparator.comparingInt(PeerPoolView::peerId));
        return views;
    }
}
