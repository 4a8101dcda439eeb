package io.pgloom.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * pgloom's default logging, found by logback as a service: stderr, one line per event
 * ({@value #PATTERN}), root level from {@code PGLOOM_LOG_LEVEL} (a system property or an
 * environment variable; INFO if unset). {@link LogSetup} adds what pgbouncer.ini asks for.
 *
 * <p>Why in code and not a logback.xml: reading an XML configuration loads logback's
 * configuration framework and the JDK's XML parser, some 440 classes and 3-4 MiB of resident
 * memory kept for the life of the process. A configuration file still wins when there is one:
 * {@code -Dlogback.configurationFile=...}, or a logback-test.xml or logback.xml on the class path.
 */
public final class LogDefaults extends ContextAwareBase implements Configurator {
    static final String PATTERN = "%d{yyyy-MM-dd HH:mm:ss.SSS} %-5level %logger{0}: %msg%n";
    static final String LEVEL_VARIABLE = "PGLOOM_LOG_LEVEL";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        ClassLoader loader = LogDefaults.class.getClassLoader();
        if (System.getProperty("logback.configurationFile") != null
                || loader.getResource("logback-test.xml") != null || loader.getResource("logback.xml") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(PATTERN);
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(rootLevel());
        root.addAppender(stderr);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** PGLOOM_LOG_LEVEL as logback reads a level name (an unknown name means DEBUG); INFO if unset. */
    static Level rootLevel() {
        String value = System.getProperty(LEVEL_VARIABLE);
        if (value == null) {
            value = System.getenv(LEVEL_VARIABLE);
        }
        return value == null || value.isBlank() ? Level.INFO : Level.toLevel(value.trim());
    }
}
