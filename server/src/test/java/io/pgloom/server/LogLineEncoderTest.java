package io.pgloom.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The hand-written log line is byte for byte what logback's pattern layout writes. */
class LogLineEncoderTest {
    private final LoggerContext context = new LoggerContext();

    private PatternLayoutEncoder pattern(String pattern) {
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern(pattern);
        encoder.start();
        return encoder;
    }

    private <E extends Encoder<ILoggingEvent>> E started(E encoder) {
        encoder.setContext(context);
        encoder.start();
        return encoder;
    }

    private List<ILoggingEvent> events() {
        List<ILoggingEvent> events = new ArrayList<>();
        long[] times = {1_764_838_211_123L, 1_764_838_211_005L, 1_764_838_212_000L, 1_764_838_212_999L,
            1_700_000_000_040L, 0L, 951_782_400_500L};
        Level[] levels = {Level.INFO, Level.WARN, Level.ERROR, Level.DEBUG, Level.TRACE};
        String[] loggers = {"io.pgloom.server.frontend.ClientSession", "Plain", "a.b"};
        Exception failure = new IOException("outer", new IllegalStateException("inner cause"));
        for (int i = 0; i < times.length * 3; i++) {
            var logger = context.getLogger(loggers[i % loggers.length]);
            Object[] args = {"C-0x1f2e alice@app from 127.0.0.1:5000" + "é".repeat(i % 2), i};
            LoggingEvent event = new LoggingEvent(Logger.class.getName(), logger, levels[i % levels.length],
                    i % 4 == 3 ? "no arguments at all" : "{}: login ok ({} mode)", i % 5 == 4 ? failure : null,
                    i % 4 == 3 ? null : args);
            event.setTimeStamp(times[i % times.length]);
            events.add(event);
        }
        return events;
    }

    /** The class name logback sees as the caller; only needed by LoggingEvent's constructor. */
    private static final class Logger {
    }

    private static void assertSameLines(Encoder<ILoggingEvent> expected, Encoder<ILoggingEvent> actual,
            List<ILoggingEvent> events) {
        for (ILoggingEvent event : events) {
            assertEquals(new String(expected.encode(event), StandardCharsets.UTF_8),
                    new String(actual.encode(event), StandardCharsets.UTF_8));
        }
    }

    @Test
    void stderrLineIsThePatternLayouts() {
        List<ILoggingEvent> events = events();
        assertSameLines(pattern(LogDefaults.PATTERN), started(LogLineEncoder.plain()), events);
        // Again in another order: the per-second cache must not leak between seconds.
        assertSameLines(pattern(LogDefaults.PATTERN), started(LogLineEncoder.plain()), events.reversed());
    }

    @Test
    void logfileLineIsThePatternLayoutsWithZoneAndPid() {
        long pid = ProcessHandle.current().pid();
        assertSameLines(pattern(LogSetup.FILE_PATTERN.replace("%pid", Long.toString(pid))),
                started(LogLineEncoder.withZoneAndPid(pid)), events());
    }

    @Test
    void stackTracesAreWritten() {
        ILoggingEvent event = events().get(4);
        String line = new String(started(LogLineEncoder.plain()).encode(event), StandardCharsets.UTF_8);
        assertEquals(true, line.contains("java.io.IOException: outer") && line.contains("Caused by: "
                + "java.lang.IllegalStateException: inner cause"), line);
    }
}
