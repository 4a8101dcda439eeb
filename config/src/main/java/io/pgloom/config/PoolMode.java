package io.pgloom.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** When a server connection goes back to the pool: PgBouncer's {@code pool_mode}. */
public enum PoolMode {
    /** Released when the client disconnects. */
    SESSION,
    /** Released when the transaction ends. */
    TRANSACTION,
    /** Released after every statement; multi-statement transactions are refused. */
    STATEMENT;

    /** The value as written in {@code pgbouncer.ini}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Parses a pool mode the way PgBouncer does: case-insensitively (its lookup tables use
     * {@code strcasecmp}), so {@code pool_mode = Transaction} works in both.
     */
    public static PoolMode parse(String text) {
        String wanted = text == null ? "" : text.strip();
        for (PoolMode mode : values()) {
            if (mode.configName().equalsIgnoreCase(wanted)) {
                return mode;
            }
        }
        throw new IllegalArgumentException("unknown pool mode '" + text + "': expected one of "
                + Arrays.stream(values()).map(PoolMode::configName).collect(Collectors.joining(", ")));
    }
}
