package io.pgloom.server;

import ch.qos.logback.classic.pattern.ThrowableProxyConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.encoder.EncoderBase;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;

/**
 * pgloom's log line, written by hand: {@code 2026-12-04 09:10:11.123 INFO  Listener: message}, or
 * with {@link #withZoneAndPid} {@code 2026-12-04 09:10:11.123 UTC [4711] INFO  Listener: message}
 * for the logfile. The same bytes as logback's pattern layout with {@link LogDefaults#PATTERN}
 * (or {@link LogSetup}'s file pattern), stack traces included, at a fraction of its cost: every
 * client that connects writes two lines (log_connections, log_disconnections), and the pattern
 * layout's converter chain, date formatting and padding were a third of pgloom's user-space time
 * in logging under {@code pgbench -C}.
 *
 * <p>The date and time up to the second, and what follows the milliseconds, are formatted once
 * per second and reused. Thread-safe: the cache is one immutable object behind a volatile field.
 */
final class LogLineEncoder extends EncoderBase<ILoggingEvent> {
    private static final DateTimeFormatter SECOND = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
    private static final DateTimeFormatter ZONE = DateTimeFormatter.ofPattern("zzz");

    private final String pid;
    private final ZoneId zone = ZoneId.systemDefault();
    private final ThrowableProxyConverter throwables = new ThrowableProxyConverter();
    private volatile Second cached = new Second(Long.MIN_VALUE, "", "");

    /** The time, up to the second, and the text after the milliseconds, of one second. */
    private record Second(long epochSecond, String head, String tail) {
    }

    private LogLineEncoder(String pid) {
        this.pid = pid;
    }

    /** The stderr line: no zone, no pid. */
    static LogLineEncoder plain() {
        return new LogLineEncoder(null);
    }

    /** The logfile line: the zone's short name after the time, then {@code [pid]}. */
    static LogLineEncoder withZoneAndPid(long pid) {
        return new LogLineEncoder(Long.toString(pid));
    }

    @Override
    public void start() {
        throwables.setContext(getContext());
        throwables.start();
        super.start();
    }

    @Override
    public byte[] headerBytes() {
        return null;
    }

    @Override
    public byte[] footerBytes() {
        return null;
    }

    @Override
    public byte[] encode(ILoggingEvent event) {
        String message = event.getFormattedMessage();
        StringBuilder line = new StringBuilder(64 + (message == null ? 4 : message.length()));
        long millis = event.getTimeStamp();
        Second second = second(Math.floorDiv(millis, 1000));
        int ms = (int) Math.floorMod(millis, 1000);
        line.append(second.head).append((char) ('0' + ms / 100)).append((char) ('0' + ms / 10 % 10))
                .append((char) ('0' + ms % 10)).append(second.tail);
        String level = event.getLevel().toString();
        line.append(level);
        for (int i = level.length(); i < 5; i++) {
            line.append(' ');
        }
        String logger = event.getLoggerName();
        line.append(' ').append(logger, logger.lastIndexOf('.') + 1, logger.length()).append(": ")
                .append(message).append(System.lineSeparator());
        if (event.getThrowableProxy() != null) {
            line.append(throwables.convert(event));
        }
        return line.toString().getBytes(StandardCharsets.UTF_8);
    }

    private Second second(long epochSecond) {
        Second s = cached;
        if (s.epochSecond != epochSecond) {
            var time = Instant.ofEpochSecond(epochSecond).atZone(zone);
            String tail = pid == null ? " " : " " + ZONE.format(time) + " [" + pid + "] ";
            s = new Second(epochSecond, SECOND.format(time) + ".", tail);
            cached = s;
        }
        return s;
    }
}
