package io.pgloom.server;

import io.pgloom.config.SettingValues;
import io.pgloom.server.carrier.Carriers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * io_mode and io_threads, applied once per process before the first scope opens: with
 * {@code carriers}, pgloom's threads and sockets move onto its own carriers ({@link Carriers});
 * with {@code jdk}, they stay on the JDK's scheduler and sockets. The choice is the process's: a
 * second server started in the same JVM (tests) keeps the first one's. A config file that does not
 * set io_mode takes the system property {@code pgloom.io_mode} if given (the test suite runs once
 * per mode with it), else carriers; one that does not set io_threads takes {@code pgloom.io_threads}
 * (the test suite runs on two carriers, so that threads and sockets cross between carriers on any
 * machine), else {@link #autoThreads}.
 */
final class IoSetup {
    private static final Logger log = LoggerFactory.getLogger(IoSetup.class);
    private static boolean jdkLogged;

    private IoSetup() {
    }

    /**
     * io_threads = 0: one carrier per two processors, at least one. A carrier with nothing to run
     * sleeps in epoll_wait and each wake-up is a context switch, so fewer, busier carriers batch
     * more readiness per wake-up: on two processors shared with the servers and the clients, one
     * carrier costs 5-40% less CPU per transaction than two (bench/RESULTS.md, 2026-12-03), and
     * the kernel's TCP work, most of a pooler's CPU, runs on the other processors' threads.
     */
    static int autoThreads(int processors) {
        return Math.max(1, processors / 2);
    }

    static synchronized void apply(SettingValues settings) {
        String mode = !settings.explicit().containsKey("io_mode") ? System.getProperty("pgloom.io_mode", settings.string("io_mode"))
                : settings.string("io_mode");
        if (!mode.equals("jdk")) {
            int threads = !settings.explicit().containsKey("io_threads")
                    ? Integer.getInteger("pgloom.io_threads", settings.integer("io_threads"))
                    : settings.integer("io_threads");
            Carriers.install(threads > 0 ? threads : autoThreads(Runtime.getRuntime().availableProcessors()));
        } else if (Carriers.active()) {
            log.info("io_mode = jdk: this process already runs on its carriers; io_mode takes a restart");
        } else if (!jdkLogged) {
            jdkLogged = true;
            log.info("io_mode = jdk: virtual threads on the JDK's scheduler, JDK sockets");
        }
    }
}
