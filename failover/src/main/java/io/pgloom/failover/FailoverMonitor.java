package io.pgloom.failover;

import io.pgloom.wire.backend.Endpoint;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the probe rounds: every probe_interval, all hosts of every watched replication set are
 * probed at once with one deadline (probe_timeout), the answers go to the {@link Topology}, and
 * the {@link PrimaryWatch} decides whether a lost primary is replaced.
 *
 * <p>Threading: {@link #run} is the loop, on a thread the caller owns (the server forks it in its
 * scope and interrupts it at shutdown); each probe runs on its own thread inside the round's
 * scope ({@link ParallelRound}). {@link #watch} and {@link #probeNow} may be called from any thread.
 */
public final class FailoverMonitor {
    private static final Logger log = LoggerFactory.getLogger(FailoverMonitor.class);

    /** Runs tasks at once and returns the results of those done within {@code timeout}: the server's DeadlineScope. */
    @FunctionalInterface
    public interface ParallelRound {
        <K, T> Map<K, T> callAll(String name, Map<K, ? extends Callable<? extends T>> tasks, Duration timeout)
                throws InterruptedException;
    }

    private final Topology topology;
    private final HostProbe probe;
    private final ParallelRound round;
    private final PrimaryWatch watch;
    private final Semaphore nudge = new Semaphore(0);
    private volatile List<List<Endpoint>> sets = List.of();

    public FailoverMonitor(Topology topology, HostProbe probe, ParallelRound round, Promoter promoter, PromotionGate gate) {
        this.topology = topology;
        this.probe = probe;
        this.round = round;
        this.watch = new PrimaryWatch(topology, promoter, gate);
    }

    public Topology topology() {
        return topology;
    }

    /**
     * The replication sets to watch from now on (each the host list of a multi-host entry, or of
     * an entry with a target_session_attrs); the next round probes them.
     */
    public void watch(List<List<Endpoint>> hostSets) {
        List<List<Endpoint>> distinct = List.copyOf(new LinkedHashSet<>(hostSets.stream().map(List::copyOf).toList()));
        Set<Endpoint> hosts = new LinkedHashSet<>();
        distinct.forEach(hosts::addAll);
        Set<Endpoint> dropped = new LinkedHashSet<>();
        sets.forEach(dropped::addAll);
        dropped.removeAll(hosts);
        dropped.forEach(probe::forget);
        sets = distinct;
        topology.track(hosts, System.nanoTime());
        probeNow();
    }

    /** Whether there is anything to probe. */
    public boolean watching() {
        return !sets.isEmpty();
    }

    /** Starts the next round now rather than at the end of the interval. */
    public void probeNow() {
        nudge.release();
    }

    /** Probes until interrupted. */
    public void run() throws InterruptedException {
        try {
            while (true) {
                long started = System.nanoTime();
                boolean again = false;
                if (!sets.isEmpty()) {
                    again = round();
                }
                long wait = topology.settings().probeInterval().toNanos() - (System.nanoTime() - started);
                nudge.drainPermits();
                if (!again && wait > 0) {
                    if (nudge.tryAcquire(wait, TimeUnit.NANOSECONDS)) {
                        nudge.drainPermits();
                    }
                }
            }
        } finally {
            probe.close();
        }
    }

    /** One round: probe, apply, decide. Returns whether to probe again at once (a promotion happened). */
    boolean round() throws InterruptedException {
        List<List<Endpoint>> current = sets;
        Duration timeout = topology.settings().probeTimeout();
        Map<Endpoint, Callable<ProbeResult>> tasks = new LinkedHashMap<>();
        for (List<Endpoint> set : current) {
            for (Endpoint host : set) {
                tasks.putIfAbsent(host, () -> probe.probe(host, timeout));
            }
        }
        Map<Endpoint, ProbeResult> results = round.callAll("probe", tasks, timeout);
        long now = System.nanoTime();
        topology.apply(results, now);
        try {
            return watch.afterRound(current, now);
        } catch (RuntimeException e) {
            log.error("failover decision failed", e);
            return false;
        }
    }
}
