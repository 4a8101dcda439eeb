package io.pgloom.failover;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.config.ReplicaLag;
import io.pgloom.config.TargetSessionAttrs;
import io.pgloom.wire.backend.Endpoint;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The topology's rules, fed with scripted probe rounds. */
class TopologyTest {
    static final Endpoint PG1 = new Endpoint("pg1", 5432);
    static final Endpoint PG2 = new Endpoint("pg2", 5432);
    static final Endpoint PG3 = new Endpoint("pg3", 5432);
    static final List<Endpoint> ALL = List.of(PG1, PG2, PG3);
    static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    static FailoverSettings settings(ReplicaLag lag, Duration readmit) {
        FailoverSettings d = FailoverSettings.defaults();
        return new FailoverSettings(d.probeInterval(), d.probeTimeout(), d.primaryGrace(), d.promote(), lag, readmit,
                d.repointStandbys(), d.probeUser(), d.probeDbname());
    }

    static ProbeResult primary(Endpoint h, long timeline, long lsn) {
        return new ProbeResult(h, null, false, false, timeline, lsn, -1, 0);
    }

    static ProbeResult standby(Endpoint h, long timeline, long replayed) {
        return new ProbeResult(h, null, true, true, timeline, replayed, replayed, 0);
    }

    static Map<Endpoint, ProbeResult> round(ProbeResult... results) {
        return Stream.of(results).collect(Collectors.toMap(ProbeResult::host, r -> r));
    }

    final Topology topology = new Topology(settings(ReplicaLag.parse("1MB"), Duration.ofSeconds(10)));
    final List<String> events = new ArrayList<>();

    TopologyTest() {
        topology.track(new LinkedHashSet<>(ALL), 0);
        topology.addListener((before, after) -> events.add(after.host().host() + ":" + after.state(after.since())));
    }

    @Test
    void readWriteGoesToThePrimaryAndReadsToStandbys() {
        topology.apply(round(primary(PG1, 1, 1000), standby(PG2, 1, 900), standby(PG3, 1, 1000)), SECOND);
        assertEquals(List.of(PG1), topology.candidates(ALL, TargetSessionAttrs.READ_WRITE, SECOND));
        assertEquals(List.of(PG1), topology.candidates(ALL, TargetSessionAttrs.PRIMARY, SECOND));
        assertEquals(List.of(PG2, PG3), topology.candidates(ALL, TargetSessionAttrs.STANDBY, SECOND));
        assertEquals(List.of(PG2, PG3), topology.candidates(ALL, TargetSessionAttrs.PREFER_STANDBY, SECOND));
        assertEquals(List.of(PG2, PG3), topology.candidates(ALL, TargetSessionAttrs.READ_ONLY, SECOND));
        assertEquals(ALL, topology.candidates(ALL, TargetSessionAttrs.ANY, SECOND), "any needs no probe");
        assertEquals(100, topology.status(PG2).orElseThrow().lagBytes());
        assertTrue(topology.suits(PG1, TargetSessionAttrs.PREFER_STANDBY, SECOND), "an open primary connection still serves prefer-standby");
        assertFalse(topology.suits(PG2, TargetSessionAttrs.READ_WRITE, SECOND));
    }

    @Test
    void beforeTheFirstRoundNoHostHasARole() {
        assertEquals(List.of(), topology.candidates(ALL, TargetSessionAttrs.READ_WRITE, 0));
        assertEquals(List.of(), topology.candidates(ALL, TargetSessionAttrs.PREFER_STANDBY, 0));
    }

    @Test
    void preferStandbyFallsBackToThePrimaryAndStandbyWaits() {
        topology.apply(round(primary(PG1, 1, 1000), ProbeResult.unreachable(PG2, "refused"), ProbeResult.unreachable(PG3, "refused")), SECOND);
        assertEquals(List.of(PG1), topology.candidates(ALL, TargetSessionAttrs.PREFER_STANDBY, SECOND));
        assertEquals(List.of(), topology.candidates(ALL, TargetSessionAttrs.STANDBY, SECOND));
    }

    @Test
    void aHostThatWasDownIsDampedForReadmitDelay() {
        topology.apply(round(primary(PG1, 1, 1000), standby(PG2, 1, 1000), standby(PG3, 1, 1000)), SECOND);
        topology.apply(round(primary(PG1, 1, 1000), ProbeResult.unreachable(PG2, "connection refused"), standby(PG3, 1, 1000)), 2 * SECOND);
        HostStatus down = topology.status(PG2).orElseThrow();
        assertFalse(down.up());
        assertEquals("connection refused", down.lastError());
        assertEquals(List.of(PG3), topology.candidates(ALL, TargetSessionAttrs.STANDBY, 2 * SECOND));
        topology.apply(round(primary(PG1, 1, 1000), standby(PG2, 1, 1000), standby(PG3, 1, 1000)), 3 * SECOND);
        assertEquals("waiting", topology.status(PG2).orElseThrow().state(3 * SECOND));
        assertEquals(List.of(PG3), topology.candidates(ALL, TargetSessionAttrs.STANDBY, 12 * SECOND), "still in readmit_delay");
        assertEquals(List.of(PG2, PG3), topology.candidates(ALL, TargetSessionAttrs.STANDBY, 13 * SECOND));
    }

    @Test
    void theEndOfReadmitDelayIsAnnouncedOnceSoPoolsRebalance() {
        topology.apply(round(primary(PG1, 1, 1000), standby(PG2, 1, 1000), standby(PG3, 1, 1000)), SECOND);
        topology.apply(round(primary(PG1, 1, 1000), ProbeResult.unreachable(PG2, "connection refused"), standby(PG3, 1, 1000)), 2 * SECOND);
        topology.apply(round(primary(PG1, 1, 1000), standby(PG2, 1, 1000), standby(PG3, 1, 1000)), 3 * SECOND);
        assertEquals("pg2:waiting", events.getLast(), "back up, damped");
        int before = events.size();
        topology.apply(round(primary(PG1, 1, 1000), standby(PG2, 1, 1000), standby(PG3, 1, 1000)), 8 * SECOND);
        assertEquals(before, events.size(), "still within readmit_delay: nothing new");
        topology.apply(round(primary(PG1, 1, 1000), standby(PG2, 1, 1000), standby(PG3, 1, 1000)), 13 * SECOND);
        assertEquals(before + 1, events.size(), "readmit_delay over: announced");
        assertTrue(events.getLast().startsWith("pg2:"), events.toString());
        topology.apply(round(primary(PG1, 1, 1000), standby(PG2, 1, 1000), standby(PG3, 1, 1000)), 14 * SECOND);
        assertEquals(before + 1, events.size(), "once");
    }

    @Test
    void aLaggingStandbyTakesNoReadsUntilItCaughtUpAndWaited() {
        long mb = 1 << 20;
        topology.apply(round(primary(PG1, 1, 10 * mb), standby(PG2, 1, 10 * mb), standby(PG3, 1, 10 * mb)), SECOND);
        topology.apply(round(primary(PG1, 1, 20 * mb), standby(PG2, 1, 10 * mb), standby(PG3, 1, 20 * mb)), 2 * SECOND);
        assertTrue(Topology.lagging(topology.status(PG2).orElseThrow(), ReplicaLag.parse("1MB")));
        assertEquals(List.of(PG3), topology.candidates(ALL, TargetSessionAttrs.STANDBY, 2 * SECOND));
        topology.apply(round(primary(PG1, 1, 20 * mb), standby(PG2, 1, 20 * mb), standby(PG3, 1, 20 * mb)), 3 * SECOND);
        assertEquals(List.of(PG3), topology.candidates(ALL, TargetSessionAttrs.STANDBY, 3 * SECOND));
        assertEquals(List.of(PG2, PG3), topology.candidates(ALL, TargetSessionAttrs.STANDBY, 13 * SECOND));
    }

    @Test
    void aPrimaryOnAnOldTimelineIsFencedUntilEnabled() {
        topology.apply(round(primary(PG1, 1, 1000), standby(PG2, 1, 1000), standby(PG3, 1, 1000)), SECOND);
        // PG2 was promoted (timeline 2); PG1 comes back claiming to be primary on timeline 1.
        topology.apply(round(primary(PG1, 1, 1100), primary(PG2, 2, 1200), standby(PG3, 2, 1200)), 2 * SECOND);
        assertTrue(topology.status(PG1).orElseThrow().isFenced());
        assertEquals(List.of(PG2), topology.candidates(ALL, TargetSessionAttrs.READ_WRITE, 2 * SECOND));
        // A reload lifts fences, but not this one: a primary on an old timeline stays fenced.
        assertFalse(topology.enable(PG1, false, 2 * SECOND));
        assertTrue(topology.status(PG1).orElseThrow().isFenced());
        assertEquals(List.of(PG2), topology.candidates(ALL, TargetSessionAttrs.READ_WRITE, 2 * SECOND));
        // ENABLE_HOST trusts it.
        assertTrue(topology.enable(PG1, true, 3 * SECOND));
        topology.apply(round(primary(PG1, 1, 1100), standby(PG2, 2, 1200), standby(PG3, 2, 1200)), 4 * SECOND);
        assertFalse(topology.status(PG1).orElseThrow().isFenced());
        assertFalse(topology.enable(PG1, true, 4 * SECOND), "not fenced any more");
    }

    @Test
    void aReloadReadmitsAnOldPrimaryThatCameBackAsAStandby() {
        topology.apply(round(primary(PG1, 1, 1000), standby(PG2, 1, 1000), standby(PG3, 1, 1000)), SECOND);
        topology.fence(PG1, "replaced by the promotion of pg2:5432", SECOND);
        topology.apply(round(standby(PG1, 2, 1000), primary(PG2, 2, 1000), standby(PG3, 2, 1000)), 2 * SECOND);
        assertTrue(topology.enable(PG1, false, 2 * SECOND));
        assertEquals(List.of(PG1, PG3), topology.candidates(ALL, TargetSessionAttrs.STANDBY, 2 * SECOND));
    }

    @Test
    void aFencedHostStaysFencedWhateverItReports() {
        topology.apply(round(primary(PG1, 1, 1000), standby(PG2, 1, 1000), standby(PG3, 1, 1000)), SECOND);
        topology.fence(PG1, "replaced by the promotion of pg2:5432", SECOND);
        topology.apply(round(standby(PG1, 2, 1000), primary(PG2, 2, 1000), standby(PG3, 2, 1000)), 2 * SECOND);
        assertEquals("fenced", topology.status(PG1).orElseThrow().state(2 * SECOND));
        assertEquals(List.of(PG3), topology.candidates(ALL, TargetSessionAttrs.STANDBY, 2 * SECOND));
    }

    @Test
    void eachChangeIsAnnouncedOnce() {
        topology.apply(round(primary(PG1, 1, 1000), standby(PG2, 1, 1000), standby(PG3, 1, 1000)), SECOND);
        int first = events.size();
        assertEquals(3, first);
        topology.apply(round(primary(PG1, 1, 2000), standby(PG2, 1, 1900), standby(PG3, 1, 2000)), 2 * SECOND);
        assertEquals(first, events.size(), "WAL moved, nothing a pool acts on changed: nothing announced");
        assertEquals(100, topology.status(PG2).orElseThrow().lagBytes(), "but the positions are kept");
        topology.apply(round(ProbeResult.unreachable(PG1, "timeout"), standby(PG2, 1, 1000), standby(PG3, 1, 1000)), 3 * SECOND);
        assertEquals(first + 1, events.size());
        topology.apply(round(ProbeResult.unreachable(PG1, "timeout"), standby(PG2, 1, 1000), standby(PG3, 1, 1000)), 4 * SECOND);
        assertEquals(first + 1, events.size(), "still down, same error: nothing new");
    }

    @Test
    void aRoundWithoutAnAnswerCountsAsTimedOut() {
        topology.apply(round(primary(PG1, 1, 1000)), SECOND);
        HostStatus pg2 = topology.status(PG2).orElseThrow();
        assertFalse(pg2.up());
        assertTrue(pg2.lastError().startsWith("no answer within probe_timeout"), pg2.lastError());
    }
}
