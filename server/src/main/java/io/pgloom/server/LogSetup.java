package io.pgloom.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import io.pgloom.config.PgloomConfig;
import java.nio.file.Path;
import org.slf4j.LoggerFactory;

/**
 * Applies pgbouncer.ini's logging settings to logback: {@code logfile} adds a file beside stderr,
 * {@code verbose} lowers pgloom's log level (1 = debug, 2+ = trace), as -v does for PgBouncer.
 *
 * <p>Each apply closes and reopens the file, so SIGHUP after logrotate moved it starts a new file,
 * as with PgBouncer.
 */
final class LogSetup {
    private static final String APPENDER = "pgloom-logfile";

    private LogSetup() {
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
            PatternLayoutEncoder encoder = new PatternLayoutEncoder();
            encoder.setContext(context);
            encoder.setPattern("%d{yyyy-MM-dd HH:mm:ss.SSS zzz} [" + ProcessHandle.current().pid() + "] %-5level %logger{0}: %msg%n");
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
        context.getLogger("io.pgloom").setLevel(level >= 2 ? Level.TRACE : level == 1 ? Level.DEBUG : null);
    }
}
