package io.pgloom.server.metrics;

import io.pgloom.server.carrier.Carriers;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.lang.management.ManagementFactory;
import jdk.management.VirtualThreadSchedulerMXBean;

/**
 * The scheduler pgloom's virtual threads run on: how many carrier threads it may use and has, how
 * many virtual threads run on them now, and how many wait for one. Mounted ≈ parallelism with a
 * growing queue means pgloom is CPU-bound. With io_mode = carriers these are pgloom's own
 * carriers ({@link Carriers#load}: mounted counts the carriers running threads rather than
 * waiting in epoll); with io_mode = jdk, the JDK's scheduler (JDK 24+'s
 * VirtualThreadSchedulerMXBean).
 */
final class VirtualThreadMetrics implements MultiCollector {
    private final VirtualThreadSchedulerMXBean scheduler =
            ManagementFactory.getPlatformMXBean(VirtualThreadSchedulerMXBean.class);

    @Override
    public MetricSnapshots collect() {
        Carriers.Load own = Carriers.load();
        if (own != null) {
            return snapshots(own.carriers(), own.carriers(), own.busy(), own.queued());
        }
        return snapshots(scheduler.getParallelism(), scheduler.getPoolSize(), scheduler.getMountedVirtualThreadCount(),
                scheduler.getQueuedVirtualThreadCount());
    }

    private static MetricSnapshots snapshots(int parallelism, int carriers, int mounted, long queued) {
        return MetricSnapshots.of(
                gauge("pgloom_virtual_thread_scheduler_parallelism", "Carrier threads the virtual-thread scheduler may run at once",
                        parallelism),
                gauge("pgloom_virtual_thread_scheduler_carriers", "Carrier threads the virtual-thread scheduler has now",
                        carriers),
                gauge("pgloom_virtual_threads_mounted", "Virtual threads running on a carrier thread now",
                        mounted),
                gauge("pgloom_virtual_threads_queued", "Virtual threads ready to run and waiting for a carrier thread",
                        queued));
    }

    private static GaugeSnapshot gauge(String name, String help, double value) {
        return GaugeSnapshot.builder().name(name).help(help)
                .dataPoint(GaugeDataPointSnapshot.builder().value(value).build()).build();
    }
}
