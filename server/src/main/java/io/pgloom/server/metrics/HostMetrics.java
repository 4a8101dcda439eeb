package io.pgloom.server.metrics;

import io.pgloom.failover.HostStatus;
import io.pgloom.failover.Role;
import io.pgloom.failover.Topology;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.function.ToDoubleFunction;

/**
 * The failover probes' view of each host, as SHOW HOSTS has it, one series per host (label
 * {@code host="name:port"}): up, primary, fenced, replication lag. A fenced host is the one to
 * alert on: it claims to be a primary that pgloom no longer trusts, or it was replaced by a
 * promotion and waits for an operator.
 */
final class HostMetrics implements MultiCollector {
    private final Topology topology;

    HostMetrics(Topology topology) {
        this.topology = topology;
    }

    @Override
    public MetricSnapshots collect() {
        long now = System.nanoTime();
        return MetricSnapshots.of(
                gauge("pgloom_host_up", "1 if the host answered its last failover probe", h -> h.up() ? 1 : 0),
                gauge("pgloom_host_primary", "1 if the host's last answer said it is a primary (not in recovery)",
                        h -> h.role() == Role.PRIMARY ? 1 : 0),
                gauge("pgloom_host_fenced", "1 if the host is fenced: it gets no traffic until ENABLE_HOST or RELOAD",
                        h -> h.isFenced() ? 1 : 0),
                gauge("pgloom_host_usable", "1 if the host may take traffic its role suits now (up, not fenced, past readmit_delay)",
                        h -> h.usable(now) ? 1 : 0),
                gauge("pgloom_host_replication_lag_bytes", "A standby's replay position behind the primary's WAL, in bytes"
                        + " (-1 unknown, 0 for a primary)", h -> h.lagBytes()));
    }

    private GaugeSnapshot gauge(String name, String help, ToDoubleFunction<HostStatus> value) {
        GaugeSnapshot.Builder b = GaugeSnapshot.builder().name(name).help(help);
        for (HostStatus h : topology.all()) {
            b.dataPoint(GaugeDataPointSnapshot.builder().labels(Labels.of("host", h.host().toString()))
                    .value(value.applyAsDouble(h)).build());
        }
        return b.build();
    }
}
