package io.pgloom.failover;

import io.pgloom.config.ReplicaLag;
import io.pgloom.config.TargetSessionAttrs;
import io.pgloom.wire.backend.Endpoint;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What pgloom knows of every host of its multi-host databases: up or down, primary or standby,
 * how far behind, fenced or not. The monitor's probe rounds feed it ({@link #apply}); pools ask
 * it which of their hosts suit them ({@link #candidates}).
 *
 * <p>Rules it keeps, each logged once when it changes something:
 * <ul>
 *   <li>A host that was down, or lagging past max_replica_lag, takes traffic again only after it
 *       stayed fit for readmit_delay (a flapping host is damped). A host seen for the first time,
 *       and a standby that becomes primary, take it at once.</li>
 *   <li>A host that reports itself primary on a timeline older than the newest a primary was seen
 *       on is fenced: it gets no traffic until an operator re-admits it ({@link #enable}). So is an
 *       old primary that a promotion replaced ({@link #fence}).</li>
 * </ul>
 *
 * <p>Threading: {@link #apply}, {@link #track}, {@link #fence} and {@link #enable} run under one
 * lock (the monitor's thread, the admin console); readers take the current immutable map through
 * one volatile read and never block. Listeners are called after the lock is let go.
 */
public final class Topology {
    private static final Logger log = LoggerFactory.getLogger(Topology.class);

    private final Object lock = new Object();
    private final List<TopologyListener> listeners = new CopyOnWriteArrayList<>();
    private volatile Map<Endpoint, HostStatus> hosts = Map.of();
    private volatile FailoverSettings settings;
    /** The newest timeline any primary was seen writing; guarded by lock. */
    private long newestTimeline;
    /** The furthest WAL position a primary reported, kept while none answers; -1 before any did. Guarded by lock. */
    private long primaryLsn = -1;
    /** When the last round was applied (nanoTime), to see a readmit_delay end between two rounds; guarded by lock. */
    private long lastRound;
    private boolean anyRound;

    public Topology(FailoverSettings settings) {
        this.settings = settings;
    }

    public void settings(FailoverSettings next) {
        settings = next;
    }

    public FailoverSettings settings() {
        return settings;
    }

    public void addListener(TopologyListener listener) {
        listeners.add(listener);
    }

    /** The hosts to know about from now on: new ones start unknown, others are forgotten. */
    public void track(Set<Endpoint> endpoints, long now) {
        synchronized (lock) {
            Map<Endpoint, HostStatus> next = new LinkedHashMap<>();
            for (Endpoint e : endpoints) {
                HostStatus s = hosts.get(e);
                next.put(e, s != null ? s : HostStatus.unknown(e, now));
            }
            hosts = Map.copyOf(next);
        }
    }

    /** Every known host's status. */
    public Collection<HostStatus> all() {
        return hosts.values();
    }

    public Optional<HostStatus> status(Endpoint host) {
        return Optional.ofNullable(hosts.get(host));
    }

    /**
     * Applies one round: {@code results} holds an answer or a failure for each host probed; a
     * tracked host without one is taken as not answering within probe_timeout.
     */
    public void apply(Map<Endpoint, ProbeResult> results, long now) {
        List<Change> changes = new ArrayList<>();
        synchronized (lock) {
            FailoverSettings s = settings;
            long previous = anyRound ? lastRound : now;
            lastRound = now;
            anyRound = true;
            for (ProbeResult r : results.values()) {
                if (r.answered() && !r.inRecovery()) {
                    newestTimeline = Math.max(newestTimeline, r.timeline());
                }
            }
            for (ProbeResult r : results.values()) {
                if (r.answered() && !r.inRecovery() && r.timeline() >= newestTimeline) {
                    primaryLsn = Math.max(primaryLsn, r.lsn());
                }
            }
            Map<Endpoint, HostStatus> next = new LinkedHashMap<>();
            for (HostStatus before : hosts.values()) {
                ProbeResult r = results.getOrDefault(before.host(), ProbeResult.unreachable(before.host(),
                        "no answer within probe_timeout (" + s.probeTimeout().toMillis() + " ms)"));
                HostStatus after = next(before, r, primaryLsn, s, now);
                next.put(before.host(), after);
                // A readmit_delay that ended since the last round is news too: pools rebalance onto the host.
                boolean readmitted = before.up() && after.up() && !before.usable(previous) && after.usable(now)
                        && before.isFenced() == after.isFenced();
                if (readmitted || matters(before, after, s.maxReplicaLag())) {
                    changes.add(new Change(before, after, readmitted));
                }
            }
            hosts = Map.copyOf(next);
        }
        announce(changes, now);
    }

    private HostStatus next(HostStatus before, ProbeResult r, long primaryLsn, FailoverSettings s, long now) {
        if (!r.answered()) {
            long since = before.up() ? now : before.since(); // down from now, or still down since then
            return new HostStatus(before.host(), false, before.role(), before.readOnly(), before.timeline(), before.lsn(),
                    before.receiveLsn(), before.lagBytes(), before.lagMillis(), before.fenced(), before.fitFrom(), since, r.error());
        }
        Role role = r.inRecovery() ? Role.STANDBY : Role.PRIMARY;
        long lagBytes = role == Role.STANDBY && primaryLsn >= 0 && r.lsn() >= 0 ? Math.max(0, primaryLsn - r.lsn()) : role == Role.PRIMARY ? 0 : -1;
        long lagMillis = role == Role.STANDBY ? r.replayDelayMillis() : 0;
        String fenced = before.fenced();
        if (fenced == null && role == Role.PRIMARY && r.timeline() < newestTimeline) {
            fenced = timelineFence(r.timeline());
        }
        boolean firstSight = before.role() == Role.UNKNOWN && !before.up() && before.lastError() == null;
        boolean wasFit = before.up() && !lagging(before, s.maxReplicaLag());
        HostStatus after = new HostStatus(before.host(), true, role, r.readOnly(), r.timeline(), r.lsn(), r.receiveLsn(),
                lagBytes, lagMillis,
                fenced, before.fitFrom(), before.up() ? before.since() : now, before.lastError());
        boolean fitNow = !lagging(after, s.maxReplicaLag());
        if (fitNow && !wasFit) {
            // Back from down or from lagging: damped, unless this is the first time it is seen at all.
            after = after.withFitFrom(firstSight ? now : now + s.readmitDelay().toNanos());
        }
        return after;
    }

    /**
     * Whether a round changed something a pool or an operator acts on: up or down, role, read-only,
     * fence, readmit time, lagging or not, or the error of a host still down. WAL positions move
     * every round and are only read, not announced.
     */
    private static boolean matters(HostStatus before, HostStatus after, ReplicaLag limit) {
        return before.up() != after.up() || before.role() != after.role() || before.readOnly() != after.readOnly()
                || !Objects.equals(before.fenced(), after.fenced()) || before.fitFrom() != after.fitFrom()
                || lagging(before, limit) != lagging(after, limit)
                || !Objects.equals(before.lastError(), after.lastError());
    }

    /** Whether a standby is further behind than the limit allows. */
    public static boolean lagging(HostStatus h, ReplicaLag limit) {
        if (h.role() != Role.STANDBY || limit.unlimited()) {
            return false;
        }
        if (limit.bytes() > 0) {
            return h.lagBytes() > limit.bytes();
        }
        return h.lagMillis() > limit.time().toMillis();
    }

    /**
     * The hosts among {@code hostList} that a pool with {@code attrs} may open connections to now,
     * in the list's order. {@code any} needs no probe: every host. {@code prefer-standby} gives
     * the fit standbys, or else the primary.
     */
    public List<Endpoint> candidates(List<Endpoint> hostList, TargetSessionAttrs attrs, long now) {
        if (attrs == TargetSessionAttrs.ANY) {
            return hostList;
        }
        Map<Endpoint, HostStatus> known = hosts;
        ReplicaLag limit = settings.maxReplicaLag();
        List<Endpoint> fit = new ArrayList<>();
        for (Endpoint e : hostList) {
            HostStatus h = known.get(e);
            if (h != null && suits(h, attrs, limit, now)) {
                fit.add(e);
            }
        }
        if (fit.isEmpty() && attrs == TargetSessionAttrs.PREFER_STANDBY) {
            for (Endpoint e : hostList) {
                HostStatus h = known.get(e);
                if (h != null && h.usable(now) && h.role() == Role.PRIMARY) {
                    fit.add(e);
                }
            }
        }
        return fit;
    }

    /** Whether a connection to {@code host} may serve a pool with {@code attrs} now (ignoring prefer-standby's fallback). */
    public boolean suits(Endpoint host, TargetSessionAttrs attrs, long now) {
        if (attrs == TargetSessionAttrs.ANY) {
            return true;
        }
        HostStatus h = hosts.get(host);
        return h != null && (suits(h, attrs, settings.maxReplicaLag(), now)
                || attrs == TargetSessionAttrs.PREFER_STANDBY && h.usable(now) && h.role() == Role.PRIMARY);
    }

    private static boolean suits(HostStatus h, TargetSessionAttrs attrs, ReplicaLag limit, long now) {
        if (!h.usable(now)) {
            return false;
        }
        return switch (attrs) {
            case ANY -> true;
            case READ_WRITE -> h.writable(now);
            case PRIMARY -> h.role() == Role.PRIMARY;
            case READ_ONLY -> (h.role() == Role.STANDBY || h.readOnly()) && !lagging(h, limit);
            case STANDBY, PREFER_STANDBY -> h.role() == Role.STANDBY && !lagging(h, limit);
        };
    }

    /** Fences {@code host}: it gets no traffic until {@link #enable}. */
    public void fence(Endpoint host, String reason, long now) {
        List<Change> changes = new ArrayList<>();
        synchronized (lock) {
            HostStatus before = hosts.get(host);
            if (before == null || before.isFenced()) {
                return;
            }
            HostStatus after = before.withFenced(reason);
            replace(after);
            changes.add(new Change(before, after, false));
        }
        announce(changes, now);
    }

    /**
     * An operator re-admits a fenced host: it takes traffic its role suits from the next round on.
     * With {@code trustItsTimeline} (ENABLE HOST names it), a primary's timeline becomes the newest,
     * so an old primary re-admitted on purpose is not fenced again at once; without it (a reload
     * lifts every fence), a primary on an old timeline is fenced again by the next round. Returns
     * whether it was fenced.
     */
    public boolean enable(Endpoint host, boolean trustItsTimeline, long now) {
        List<Change> changes = new ArrayList<>();
        boolean lifted = false;
        synchronized (lock) {
            HostStatus before = hosts.get(host);
            if (before != null && before.isFenced()) {
                HostStatus after;
                if (!trustItsTimeline && before.role() == Role.PRIMARY && before.timeline() < newestTimeline) {
                    // Lifting it until the next round would let writes reach a primary on an old timeline.
                    after = before.withFenced(timelineFence(before.timeline()));
                } else {
                    after = before.withFenced(null);
                    lifted = true;
                    if (trustItsTimeline && after.role() == Role.PRIMARY) {
                        newestTimeline = after.timeline();
                    }
                }
                if (!after.equals(before)) {
                    replace(after);
                    changes.add(new Change(before, after, false));
                }
            }
        }
        announce(changes, now);
        return lifted;
    }

    /** Why a primary on {@code timeline} is fenced while another wrote a newer one. Under the lock. */
    private String timelineFence(long timeline) {
        return "primary on timeline " + timeline + ", older than timeline " + newestTimeline + " another primary writes";
    }

    private void replace(HostStatus status) {
        Map<Endpoint, HostStatus> next = new LinkedHashMap<>(hosts);
        next.put(status.host(), status);
        hosts = Map.copyOf(next);
    }

    /** What one round, fence or re-admission changed for one host; {@code readmitted}: its readmit_delay ended. */
    private record Change(HostStatus before, HostStatus after, boolean readmitted) {}

    private void announce(List<Change> changes, long now) {
        for (Change c : changes) {
            logChange(c, now);
            for (TopologyListener l : listeners) {
                try {
                    l.changed(c.before(), c.after());
                } catch (RuntimeException e) {
                    log.warn("topology listener failed on {}", c.after().host(), e);
                }
            }
        }
    }

    private void logChange(Change c, long now) {
        HostStatus before = c.before();
        HostStatus after = c.after();
        String host = after.host().toString();
        if (c.readmitted()) {
            log.info("host {} ({}) takes traffic again: it stayed fit for readmit_delay ({} ms)", host, after.role().word(),
                    settings.readmitDelay().toMillis());
        }
        if (after.isFenced() && !before.isFenced()) {
            log.error("host {} FENCED: {}; it gets no traffic until an operator re-admits it (ENABLE_HOST or RELOAD)",
                    host, after.fenced());
        } else if (!after.isFenced() && before.isFenced()) {
            log.warn("host {}: fence lifted, it takes traffic again ({})", host, after.role().word());
        }
        if (before.up() && !after.up()) {
            log.warn("host {} ({}) is down: {}", host, after.role().word(), after.lastError());
        } else if (!before.up() && after.up()) {
            long wait = after.fitFrom() - now;
            log.info("host {} is up: {}, timeline {}{}", host, after.role().word(), after.timeline(),
                    wait > 0 ? ", takes traffic after readmit_delay (" + TimeUnit.NANOSECONDS.toMillis(wait) + " ms)" : "");
        } else if (!before.up() && !after.up() && before.lastError() == null && after.lastError() != null) {
            log.warn("host {} is unreachable: {}", host, after.lastError());
        } else if (before.up() && after.up() && before.role() != after.role()) {
            log.warn("host {} is now {} (was {}), timeline {}", host, after.role().word(), before.role().word(), after.timeline());
        }
        ReplicaLag limit = settings.maxReplicaLag();
        if (after.up() && before.up() && lagging(after, limit) != lagging(before, limit)) {
            if (lagging(after, limit)) {
                log.warn("host {} lags past max_replica_lag ({}): {} bytes, {} ms behind; it takes no reads", host, limit,
                        after.lagBytes(), after.lagMillis());
            } else {
                log.info("host {} caught up ({} bytes behind); it takes reads again after readmit_delay", host, after.lagBytes());
            }
        }
    }
}
