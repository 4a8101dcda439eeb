package io.pgloom.config;

/** How the value of a {@code [pgbouncer]} setting is written and checked. */
public enum SettingType {
    /** Any text, the empty string included. */
    STRING,
    /**
     * A 32-bit integer written as C's {@code strtol(…, 0)} reads it, because that is what
     * PgBouncer calls: {@code 0x1f} is hexadecimal and a leading {@code 0} means octal.
     */
    INT,
    /**
     * PgBouncer stores its switches as integers (any non-zero number is on); pgloom also takes
     * yes/no, on/off and true/false.
     */
    BOOL,
    /** Seconds, fractions allowed ({@code 0.5}); no unit suffix, as PgBouncer refuses {@code 5s}. */
    TIME,
    /** A comma-separated list; blanks around items are dropped. */
    LIST,
    /** One of a fixed set of words, compared case-insensitively. */
    ENUM,
    /** An integer usually written in octal, like a file mode ({@code 0777}); parsed as {@link #INT}. */
    OCTAL_INT
}
