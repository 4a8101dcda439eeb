package io.pgloom.config;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code max_replica_lag}: how far behind the primary a standby may be and still take reads,
 * either in bytes of WAL not yet replayed or in time since the last transaction it replayed.
 *
 * @param bytes  the limit in bytes, or 0 when the limit is a time (or there is none)
 * @param time   the limit as a duration, or zero when the limit is in bytes (or there is none)
 */
public record ReplicaLag(long bytes, Duration time) {
    /** No limit: every healthy standby takes reads. */
    public static final ReplicaLag NONE = new ReplicaLag(0, Duration.ZERO);

    private static final Pattern FORM = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([a-z]*)");

    public boolean unlimited() {
        return bytes == 0 && time.isZero();
    }

    /**
     * Reads {@code 0}, a byte count ({@code 1048576}, {@code 512kB}, {@code 16MB}, {@code 1GB}: the
     * units PostgreSQL's settings take, powers of 1024), or a duration ({@code 500ms}, {@code 10s},
     * {@code 1min}, {@code 1h}).
     */
    public static ReplicaLag parse(String raw) {
        Matcher m = FORM.matcher(raw.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException(expected());
        }
        double n = Double.parseDouble(m.group(1));
        String unit = m.group(2);
        long bytes = switch (unit) {
            case "", "b" -> 1;
            case "kb" -> 1L << 10;
            case "mb" -> 1L << 20;
            case "gb" -> 1L << 30;
            case "tb" -> 1L << 40;
            default -> 0;
        };
        if (bytes > 0) {
            if (unit.isEmpty() && m.group(1).contains(".")) {
                throw new IllegalArgumentException(expected());
            }
            return new ReplicaLag(Math.round(n * bytes), Duration.ZERO);
        }
        long millis = switch (unit) {
            case "ms" -> 1;
            case "s" -> 1000;
            case "min" -> 60_000;
            case "h" -> 3_600_000;
            default -> throw new IllegalArgumentException(expected());
        };
        return new ReplicaLag(0, Duration.ofMillis(Math.round(n * millis)));
    }

    private static String expected() {
        return "expected 0 (no limit), bytes (16777216, 512kB, 16MB, 1GB) or a duration (500ms, 10s, 1min)";
    }

    @Override
    public String toString() {
        return unlimited() ? "no limit" : bytes > 0 ? bytes + " bytes" : time.toMillis() + " ms";
    }
}
