package io.pgloom.server.admin;

import io.pgloom.config.PeerEntry;
import io.pgloom.server.admin.AdminConsole.Handler;
import io.pgloom.server.control.ForeignCancels.PeerPoolView;
import io.pgloom.server.control.Pooler;
import java.util.Comparator;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * SHOW PEERS and SHOW PEER_POOLS, with PgBouncer 1.25's columns: [peers] as configured now, and
 * the cancels being forwarded to each peer.
 */
final class PeerTables {

    private PeerTables() {
    }

    static void register(BiConsumer<String, Handler> add) {
        add.accept("PEERS", (p, a) -> peers(p));
        add.accept("PEER_POOLS", (p, a) -> peerPools(p));
    }

    /** One row per [peers] entry; pool_size is default_pool_size where the entry sets none, as in PgBouncer. */
    private static Result peers(Pooler pooler) {
        int defaultPoolSize = pooler.config().settings().integer("default_pool_size");
        Result r = Result.rows("peer_id:i", "host:s", "port:i", "pool_size:i");
        List<PeerEntry> peers = pooler.config().peers().stream().sorted(Comparator.comparingInt(PeerEntry::id)).toList();
        for (PeerEntry peer : peers) {
            r.row(peer.id(), peer.host(), peer.port(), peer.poolSize().orElse(defaultPoolSize));
        }
        return r;
    }

    private static Result peerPools(Pooler pooler) {
        Result r = Result.rows("peer_id:i", "cl_active_cancel_req:i", "cl_waiting_cancel_req:i", "sv_active_cancel:i",
                "sv_login:i");
        for (PeerPoolView v : pooler.peerPools()) {
            r.row(v.peerId(), v.activeCancelRequests(), v.waitingCancelRequests(), v.activeCancelServers(), v.loggingIn());
        }
        return r;
    }
}
