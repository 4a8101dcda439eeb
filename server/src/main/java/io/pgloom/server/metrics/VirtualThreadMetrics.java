package io.pgloom.server.metrics;

import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.lang.management.ManagementFactory;
import jdk.management.VirtualThreadSchedulerMXBean;

/**
 * The virtual-thread scheduler as the JDK reports it (JDK 24+'s VirtualThreadSchedulerMXBean):
 * how many carrier threads it may use and has, how many virtual threads run on them now, and how
 * many wait for one. Mounted ≈ parallelism with a growing queue means pgloom is CPU-bound.
 */
final class VirtualThreadMetrics implements MultiCollector {
    private final VirtualThreadSchedulerMXBean scheduler =
            ManagementFactory.getPlatformMXBean(VirtualThreadSchedulerMXBean.class);

    @Override
    public MetricSnapshots collect() {
        return MetricSnapshots.of(
                gauge("pgloom_virtual_thread_scheduler_parallelism", "Carrier threads the virtual-thread scheduler may run at once",
                        scheduler.getParallelism()),
                gauge("pgloom_virtual_thread_scheduler_carriers", "Carrier threads the virtual-thread scheduler has now",
                        scheduler.getPoolSize()),
                gauge("pgloom_virtual_threads_mounted", "Virtual threads running on a carrier thread now",
                        scheduler.getMountedVirtualThreadCount()),
                gauge("pgloom_virtual_threads_queued", "Virtual threads ready to run and waiting for a carrier thread",
                        scheduler.getQueuedVirtualThreadCount()));
    }

    private static GaugeSnapshot gauge(String name, String help, double value) {
        return GaugeSnapshot.builder().name(name).help(help)
                .dataPoint(GaugeDataPointSnapshot.builder().value(value).build()).build();
    }
}
