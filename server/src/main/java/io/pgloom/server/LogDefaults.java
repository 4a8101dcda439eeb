package io.pgloom.server;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.spi.FilterReply;
import ch.qos.logback.core.spi.ContextAwareBase;
import java.io.PrintStream;

/**
 * pgloom's default logging, found by logback as a service: stderr, one line per event
 * (logback's {@value #PATTERN}, written by {@link LogLineEncoder}), root level from
 * {@code PGLOOM_LOG_LEVEL} (a system property or an environment variable; INFO if unset).
 * {@link LogSetup} adds what pgbouncer.ini asks for.
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
        LogLineEncoder encoder = LogLineEncoder.plain();
        encoder.setContext(context);
        encoder.start();
        StderrAppender stderr = new StderrAppender(encoder);
        stderr.setContext(context);
        stderr.setName("STDERR");
        stderr.start();
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(rootLevel());
        root.addAppender(stderr);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /**
     * Writes each event to System.err as the encoder formats it, without a lock of its own (the
     * encoder is thread-safe and System.err locks each write).
     *
     * <p>Not logback's ConsoleAppender: that one leaves three thread-locals on every thread that
     * logs (the re-entrance guard of {@code UnsynchronizedAppenderBase.doAppend}, and the two MDC
     * maps it reads to prepare the event for deferred use). Every client logs its "login ok" on
     * its own virtual thread, so each idle client would keep a thread-local map of about 200
     * bytes. Nor AppenderBase, whose doAppend holds one lock around the encoding: with many
     * virtual threads logging at once that lock is contended and costs more CPU per connection.
     */
    static final class StderrAppender extends UnsynchronizedAppenderBase<ILoggingEvent> {
        private final Encoder<ILoggingEvent> encoder;

        StderrAppender(Encoder<ILoggingEvent> encoder) {
            this.encoder = encoder;
        }

        /** As UnsynchronizedAppenderBase's, minus its ThreadLocal re-entrance guard. */
        @Override
        public void doAppend(ILoggingEvent event) {
            if (isStarted() && getFilterChainDecision(event) != FilterReply.DENY) {
                append(event);
            }
        }

        @Override
        protected void append(ILoggingEvent event) {
            byte[] line = encoder.encode(event);
            PrintStream err = System.err;
            err.write(line, 0, line.length);
            err.flush();
        }
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
