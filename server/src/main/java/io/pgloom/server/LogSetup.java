package io.pgloom.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.FileAppender;
import io.pgloom.config.PgloomConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Applies pgbouncer.ini's logging settings to logback: {@code logfile} adds a file beside stderr,
 * {@code verbose} lowers pgloom's log level (1 = debug, 2+ = trace), as -v does for PgBouncer.
 *
 * <p>Each apply closes and reopens the file, so SIGHUP after logrotate moved it starts a new file,
 * as with PgBouncer.
 *
 * <p>The command line's {@code -q} and {@code -v} ({@link #commandLine}) hold for the life of the
 * process: a reload or SET can raise verbosity above {@code -v}'s but not lower it, as in PgBouncer.
 */
final class LogSetup {
    /** The logfile's line, as {@link LogLineEncoder#withZoneAndPid} writes it. */
    static final String FILE_PATTERN = "%d{yyyy-MM-dd HH:mm:ss.SSS zzz} [%pid] %-5level %logger{0}: %msg%n";

    private static final String APPENDER = "pgloom-logfile";
    private static int commandLineVerbosity;

    private LogSetup() {
    }

    /**
     * {@code -q}: no more logging to stderr (the logfile still gets everything); {@code -v} given
     * {@code verbosity} times: at least that level from now on, whatever the config says.
     */
    static synchronized void commandLine(boolean quiet, int verbosity) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return;
        }
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        if (quiet) {
            List<Appender<ILoggingEvent>> console = new ArrayList<>();
            root.iteratorForAppenders().forEachRemaining(a -> {
                if (a instanceof LogDefaults.StderrAppender || a instanceof ConsoleAppender) {
                    console.add(a);
                }
            });
            console.forEach(a -> {
                root.detachAppender(a);
                a.stop();
            });
        }
        commandLineVerbosity = verbosity;
        setVerbosity(context, 0);
    }

    static synchronized void apply(PgloomConfig config) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
            return; // another SLF4J backend: leave logging to it
        }
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        var old = root.getAppender(APPENDER);
        if (old != null) {
            root.detachAppender(old);
            old.stop();
        }
        String file = config.settings().string("logfile");
        if (file != null && !file.isBlank()) {
            Path path = config.resolve(file);
            LogLineEncoder encoder = LogLineEncoder.withZoneAndPid(ProcessHandle.current().pid());
            encoder.setContext(context);
            encoder.start();
            FileAppender<ILoggingEvent> appender = new FileAppender<>();
            appender.setContext(context);
            appender.setName(APPENDER);
            appender.setFile(path.toString());
            appender.setAppend(true);
            appender.setEncoder(encoder);
            appender.start();
            root.addAppender(appender);
        }
        String verbose = config.settings().raw("verbose");
        int level = verbose == null || verbose.isBlank() ? 0 : Integer.parseInt(verbose.trim());
        setVerbosity(context, level);
    }

    private static void setVerbosity(LoggerContext context, int configured) {
        int level = Math.max(configured, commandLineVerbosity);
        ch.qos.logback.classic.Logger pgloom = context.getLogger("io.pgloom");
        pgloom.setLevel(level >= 2 ? Level.TRACE : level == 1 ? Level.DEBUG : null);
        // Says where a level came from when the operator wonders why a reload did not lower it.
        LoggerFactory.getLogger(LogSetup.class).debug("log level {} (verbose = {}, -v given {} times)",
                pgloom.getEffectiveLevel(), configured, commandLineVerbosity);
    }
}
