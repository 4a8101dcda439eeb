package io.pgloom.failover;

/** PostgreSQL's {@code pg_lsn} text ({@code 16/B374D848}) as a number of bytes into the WAL. */
public final class Lsn {
    private Lsn() {
    }

    /** The position, or -1 for SQL NULL (a standby that never received WAL). */
    static long parse(String text) {
        if (text == null || text.isEmpty()) {
            return -1;
        }
        int slash = text.indexOf('/');
        if (slash <= 0 || slash == text.length() - 1) {
            throw new IllegalArgumentException("not a pg_lsn: " + text);
        }
        return Long.parseUnsignedLong(text, 0, slash, 16) << 32 | Long.parseUnsignedLong(text, slash + 1, text.length(), 16);
    }

    /** Back to PostgreSQL's form, for logs and SHOW HOSTS; empty for -1. */
    public static String format(long lsn) {
        return lsn < 0 ? "" : Long.toHexString(lsn >>> 32).toUpperCase() + "/" + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase();
    }
}
