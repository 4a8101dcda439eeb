package io.pgloom.failover;

import io.pgloom.wire.backend.Endpoint;
import java.io.IOException;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the primary of each replication set (the host list of a multi-host entry) after every
 * probe round, and decides what to do when it is lost: with {@code promote = off}, wait for a host
 * to report read-write (an outside tool promoted it); with {@code promote = on}, once the primary
 * has been unreachable for primary_grace and the {@link PromotionGate} agrees, promote the standby
 * that got furthest, fence the old primary, and point the other standbys at the new one.
 *
 * <p>Threading: the monitor's thread only.
 */
final class PrimaryWatch {
    private static final Logger log = LoggerFactory.getLogger(PrimaryWatch.class);

    private final Topology topology;
    private final Promoter promoter;
    private final PromotionGate gate;
    /** Per replication set: the last host seen writable, and since when it is gone (0: it is not). */
    private final Map<List<Endpoint>, Endpoint> lastPrimary = new HashMap<>();
    private final Map<List<Endpoint>, Long> lostSince = new HashMap<>();
    private final Map<List<Endpoint>, Boolean> reported = new HashMap<>();

    PrimaryWatch(Topology topology, Promoter promoter, PromotionGate gate) {
        this.topology = topology;
        this.promoter = promoter;
        this.gate = gate;
    }

    /**
     * Looks at every set after a round. Returns true when it promoted a standby, so that the
     * monitor probes again at once rather than after probe_interval.
     */
    boolean afterRound(List<List<Endpoint>> sets, long now) throws InterruptedException {
        boolean promoted = false;
        lastPrimary.keySet().retainAll(sets);
        lostSince.keySet().retainAll(sets);
        reported.keySet().retainAll(sets);
        for (List<Endpoint> set : sets) {
            promoted |= watch(set, now);
        }
        return promoted;
    }

    private boolean watch(List<Endpoint> set, long now) throws InterruptedException {
        Optional<HostStatus> writable = set.stream().map(topology::status).flatMap(Optional::stream)
                .filter(h -> h.up() && h.role() == Role.PRIMARY && !h.isFenced()).findFirst();
        if (writable.isPresent()) {
            Endpoint primary = writable.get().host();
            Endpoint before = lastPrimary.put(set, primary);
            if (lostSince.remove(set) != null && before != null && !before.equals(primary)) {
                log.warn("{}: {} is the primary now (was {})", set, primary, before);
            }
            reported.remove(set);
            return false;
        }
        Endpoint gone = lastPrimary.get(set);
        if (gone == null) {
            return false; // never had a primary: nothing was lost, nothing to promote from
        }
        long since = lostSince.computeIfAbsent(set, k -> now);
        FailoverSettings s = topology.settings();
        long lostFor = now - since;
        if (lostFor < s.primaryGrace().toNanos()) {
            return false;
        }
        if (!s.promote()) {
            if (reported.putIfAbsent(set, true) == null) {
                log.error("{}: primary {} lost for {} ms; promote is off: writes wait for a host that reports read-write",
                        set, gone, TimeUnit.NANOSECONDS.toMillis(lostFor));
            }
            return false;
        }
        Optional<HostStatus> candidate = set.stream().map(topology::status).flatMap(Optional::stream)
                .filter(h -> h.up() && h.role() == Role.STANDBY && !h.isFenced())
                .max(Comparator.comparingLong(HostStatus::advance));
        if (candidate.isEmpty()) {
            if (reported.putIfAbsent(set, true) == null) {
                log.error("{}: primary {} lost for {} ms and no healthy standby to promote; writes wait", set, gone,
                        TimeUnit.NANOSECONDS.toMillis(lostFor));
            }
            return false;
        }
        HostStatus next = candidate.get();
        if (!gate.approve(new PromotionGate.Proposal(gone, next.host(), next.advance()))) {
            log.warn("{}: promotion of {} not agreed; waiting", set, next.host());
            return false;
        }
        log.warn("{}: primary {} lost for {} ms: promoting {} (received WAL to {})", set, gone,
                TimeUnit.NANOSECONDS.toMillis(lostFor), next.host(), Lsn.format(next.advance()));
        try {
            promoter.promote(next.host());
        } catch (IOException e) {
            log.error("{}: promoting {} failed: {}; trying again next round", set, next.host(), e.getMessage());
            return false;
        }
        topology.fence(gone, "replaced by the promotion of " + next.host(), now);
        lastPrimary.put(set, next.host());
        lostSince.remove(set);
        reported.remove(set);
        log.warn("{}: {} promoted; {} fenced", set, next.host(), gone);
        if (s.repointStandbys()) {
            for (Endpoint other : set) {
                Optional<HostStatus> h = topology.status(other);
                if (!other.equals(next.host()) && !other.equals(gone) && h.isPresent() && h.get().up()
                        && h.get().role() == Role.STANDBY) {
                    try {
                        promoter.repoint(other, next.host());
                        log.info("{}: standby {} now replicates from {}", set, other, next.host());
                    } catch (IOException e) {
                        log.error("{}: could not point standby {} at {}: {}", set, other, next.host(), e.getMessage());
                    }
                }
            }
        }
        return true;
    }
}
