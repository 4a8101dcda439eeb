package io.pgloom.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator.ExecutionStatus;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import javax.management.ObjectName;
import org.junit.jupiter.api.Test;

/** The logging pgloom sets up in code when no logback configuration file is given. */
class LogDefaultsTest {

    /** Configures a fresh logger context with LogDefaults, runs {@code body}, returns what went to stderr. */
    private static String stderrOf(Consumer<LoggerContext> body) {
        PrintStream saved = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        LoggerContext context = new LoggerContext();
        context.setMDCAdapter(new LogbackMDCAdapter()); // what logback's SLF4J provider gives a context
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            LogDefaults defaults = new LogDefaults();
            defaults.setContext(context);
            assertEquals(ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY, defaults.configure(context));
            body.accept(context);
        } finally {
            context.stop();
            System.setErr(saved);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    @Test
    void logsOneLinePerEventToStderrAtInfo() {
        String err = stderrOf(context -> {
            context.getLogger("io.pgloom.server.net.Listener").info("listening on {}:{}", "127.0.0.1", 6432);
            context.getLogger("io.pgloom.server.net.Listener").debug("not shown at INFO");
        });
        assertTrue(err.matches("\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  Listener: listening on 127\\.0\\.0\\.1:6432\\R"),
                err);
    }

    @Test
    void pgloomLogLevelSetsTheRootLevel() {
        String saved = System.getProperty(LogDefaults.LEVEL_VARIABLE);
        try {
            System.setProperty(LogDefaults.LEVEL_VARIABLE, "warn");
            assertEquals(Level.WARN, LogDefaults.rootLevel());
            String err = stderrOf(context -> {
                context.getLogger("x").info("an info line");
                context.getLogger("x").warn("a warning");
            });
            assertFalse(err.contains("an info line"), err);
            assertTrue(err.contains("WARN  x: a warning"), err);
        } finally {
            if (saved == null) {
                System.clearProperty(LogDefaults.LEVEL_VARIABLE);
            } else {
                System.setProperty(LogDefaults.LEVEL_VARIABLE, saved);
            }
        }
    }

    /** Live instances of {@code className}, from a class histogram (which runs a full GC first). */
    private static long liveInstances(String className) throws Exception {
        String histogram = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
                new Object[] {new String[0]}, new String[] {String[].class.getName()});
        for (String line : histogram.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 4 && f[3].equals(className)) {
                return Long.parseLong(f[1]);
            }
        }
        return 0;
    }

    @Test
    void loggingLeavesNoThreadLocalsOnTheLoggingThreads() throws Exception {
        // Every client logs "login ok" on its own virtual thread, which then stays parked for as
        // long as the client is idle: anything logging leaves on the thread is paid per client.
        int threads = 200;
        CountDownLatch logged = new CountDownLatch(threads);
        CountDownLatch release = new CountDownLatch(1);
        long[] maps = new long[2];
        stderrOf(context -> {
            try {
                maps[0] = liveInstances("java.lang.ThreadLocal$ThreadLocalMap");
                for (int i = 0; i < threads; i++) {
                    int n = i;
                    Thread.ofVirtual().start(() -> {
                        context.getLogger("io.pgloom.server.frontend.ClientSession").info("client {}: login ok", n);
                        logged.countDown();
                        try {
                            release.await();
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    });
                }
                logged.await();
                maps[1] = liveInstances("java.lang.ThreadLocal$ThreadLocalMap");
            } catch (Exception e) {
                throw new AssertionError(e);
            } finally {
                release.countDown();
            }
        });
        assertTrue(maps[1] - maps[0] < threads / 10, (maps[1] - maps[0]) + " thread-local maps for " + threads
                + " threads that each logged one line");
    }

    @Test
    void aConfigurationFileWins() {
        String saved = System.getProperty("logback.configurationFile");
        try {
            System.setProperty("logback.configurationFile", "elsewhere.xml");
            LoggerContext context = new LoggerContext();
            LogDefaults defaults = new LogDefaults();
            defaults.setContext(context);
            assertEquals(ExecutionStatus.INVOKE_NEXT_IF_ANY, defaults.configure(context));
            assertFalse(context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).iteratorForAppenders().hasNext(),
                    "no appender of its own when a file is named");
        } finally {
            if (saved == null) {
                System.clearProperty("logback.configurationFile");
            } else {
                System.setProperty("logback.configurationFile", saved);
            }
        }
    }
}
