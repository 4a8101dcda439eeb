package io.pgloom.server.control;

import io.pgloom.config.DatabaseEntry;
import io.pgloom.config.LoadBalanceHosts;
import io.pgloom.config.PgloomConfig;
import io.pgloom.config.TargetSessionAttrs;
import io.pgloom.failover.FailoverMonitor;
import io.pgloom.failover.FailoverSettings;
import io.pgloom.failover.PromotionGate;
import io.pgloom.failover.SqlProbe;
import io.pgloom.failover.SqlPromoter;
import io.pgloom.failover.Topology;
import io.pgloom.server.DeadlineScope;
import io.pgloom.server.TaskScope;
import io.pgloom.server.carrier.Carriers;
import io.pgloom.server.pool.EndpointSelector;
import io.pgloom.server.pool.LeastBusySelector;
import io.pgloom.server.pool.RoundRobinSelector;
import io.pgloom.server.pool.StickySelector;
import io.pgloom.server.pool.TopologySelector;
import io.pgloom.wire.backend.BackendConnector;
import io.pgloom.wire.backend.BackendOptions;
import io.pgloom.wire.backend.Endpoint;
import io.pgloom.wire.backend.ServerCredentials;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where the server meets the failover module: which hosts the monitor watches (those of every
 * entry with a target_session_attrs), how its probes log in, which
 * selector a pool gets, and what a topology change does to the pools.
 *
 * <p>Threading: {@link #reconfigure} runs on the thread applying a config; {@link #selectorFor}
 * when a pool is made; the monitor runs on its own thread in the pooler's scope and calls back
 * {@link Pools#hostChanged} from there.
 */
final class HostRouting {
    private static final Logger log = LoggerFactory.getLogger(HostRouting.class);
    /** How long pg_promote may take before the promotion counts as failed. */
    private static final Duration PROMOTE_WAIT = Duration.ofSeconds(60);

    private final Pooler pooler;
    private final Topology topology;
    private final FailoverMonitor monitor;

    HostRouting(Pooler pooler, Pools pools, PgloomConfig config) {
        this.pooler = pooler;
        this.topology = new Topology(FailoverSettings.of(config.settings()));
        this.monitor = new FailoverMonitor(topology, new SqlProbe(this::probeLogin), DeadlineScope::callAll,
                new SqlPromoter(this::probeLogin, PROMOTE_WAIT), PromotionGate.ALONE);
        topology.addListener((before, after) -> pools.hostChanged(after.host()));
    }

    Topology topology() {
        return topology;
    }

    FailoverMonitor monitor() {
        return monitor;
    }

    /** Starts the probe loop in {@code scope}; it ends when the scope closes. */
    void start(TaskScope scope) {
        scope.start("failover-monitor", () -> {
            try {
                monitor.run();
            } catch (InterruptedException e) {
                // the pooler is closing
            }
        });
    }

    /**
     * A new config: the [failover] settings, the hosts to watch. A reload ({@code reload}, not a
     * SET) lifts the fences, as an operator's re-admission.
     */
    void reconfigure(PgloomConfig config, boolean reload) {
        topology.settings(FailoverSettings.of(config.settings()));
        List<List<Endpoint>> sets = new ArrayList<>();
        for (DatabaseEntry db : config.databases()) {
            if (watched(db)) {
                sets.add(Endpoint.of(db));
            }
        }
        monitor.watch(sets);
        if (reload) {
            long now = System.nanoTime();
            topology.all().stream().filter(h -> h.isFenced()).forEach(h -> topology.enable(h.host(), false, now));
        }
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    /**
     * Entries whose hosts are probed: those with a target_session_attrs other than any. A
     * PgBouncer configuration (host lists without one) gets no probe connections, as under
     * PgBouncer, and its hosts are taken as load_balance_hosts says.
     */
    static boolean watched(DatabaseEntry db) {
        return db.targetSessionAttrs() != TargetSessionAttrs.ANY;
    }

    /**
     * The selector a pool of {@code db} uses: load_balance_hosts among the hosts its
     * target_session_attrs allows. Without one, PgBouncer's plain turn or stickiness; with one,
     * round-robin evens the pool out over the hosts that suit it as they come and go.
     */
    EndpointSelector selectorFor(DatabaseEntry db) {
        boolean sticky = db.loadBalanceHosts() == LoadBalanceHosts.DISABLE;
        TargetSessionAttrs attrs = db.targetSessionAttrs();
        if (attrs == TargetSessionAttrs.ANY) {
            return sticky ? new StickySelector() : new RoundRobinSelector();
        }
        return new TopologySelector(topology, attrs, sticky ? new StickySelector() : new LeastBusySelector());
    }

    /**
     * How a probe logs in to {@code host}: as probe_user, else the user= of the first watched entry
     * naming the host, else its auth_user, else postgres; with the password auth_file (or the
     * entry's password=) gives that user; to probe_dbname; connect and login bounded by probe_timeout.
     */
    private SqlProbe.Login probeLogin(Endpoint host) {
        PgloomConfig config = pooler.config();
        FailoverSettings s = topology.settings();
        DatabaseEntry entry = config.databases().stream().filter(HostRouting::watched)
                .filter(db -> Endpoint.of(db).contains(host)).findFirst().orElse(null);
        String user = s.probeUser();
        if (blank(user)) {
            user = entry != null && entry.user() != null ? entry.user()
                    : entry != null && entry.authUser() != null ? entry.authUser()
                    : !blank(config.settings().string("auth_user")) ? config.settings().string("auth_user") : "postgres";
        }
        ServerCredentials credentials = entry != null ? pooler.credentials(entry, user) : ServerCredentials.none(user);
        BackendConnector connector = new BackendConnector(new BackendOptions((int) s.probeTimeout().toMillis(),
                pooler.settings().tcp(), Carriers.dialer(), pooler.serverTls()));
        return new SqlProbe.Login(connector, s.probeDbname(), credentials);
    }
}
