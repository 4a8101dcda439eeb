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
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
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
            context.getLogger("io.pgloom.server.pool.Listener").info("listening on {}:{}", "127.0.0.1", 6432);
            context.getLogger("io.pgloom.server.pool.Listener").debug("not shown at INFO");
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
