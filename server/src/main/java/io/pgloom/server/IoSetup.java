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
 * per mode with it), else carriers.
 */
final class IoSetup {
    private static final Logger log = LoggerFactory.getLogger(IoSetup.class);
    private static boolean jdkLogged;

    private IoSetup() {
    }

    static synchronized void apply(SettingValues settings) {
        String mode = !settings.explicit().containsKey("io_mode") ? System.getProperty("pgloom.io_mode", settings.string("io_mode"))
                : settings.string("io_mode");
        if (!mode.equals("jdk")) {
            int threads = settings.integer("io_threads");
            Carriers.install(threads > 0 ? threads : Runtime.getRuntime().availableProcessors());
        } else if (Carriers.active()) {
            log.info("io_mode = jdk: this process already runs on its carriers; io_mode takes a restart");
        } else if (!jdkLogged) {
            jdkLogged = true;
            log.info("io_mode = jdk: virtual threads on the JDK's scheduler, JDK sockets");
        }
    }
}
