package io.pgloom.wire.protocol;

/** The SQLSTATE codes pgloom itself sends (PostgreSQL appendix A names). */
public final class SqlState {
    private SqlState() {
    }

    /** PgBouncer's default for every pooler error. */
    public static final String PROTOCOL_VIOLATION = "08P01";
    public static final String CONNECTION_FAILURE = "08006";
    public static final String CONNECTION_EXCEPTION = "08000";
    public static final String INVALID_PASSWORD = "28P01";
    public static final String INVALID_AUTHORIZATION = "28000";
    public static final String INVALID_CATALOG_NAME = "3D000";
    public static final String FEATURE_NOT_SUPPORTED = "0A000";
    public static final String TOO_MANY_CONNECTIONS = "53300";
    public static final String ADMIN_SHUTDOWN = "57P01";
    public static final String QUERY_CANCELED = "57014";
    public static final String PROGRAM_LIMIT_EXCEEDED = "54000";
    public static final String DUPLICATE_PREPARED_STATEMENT = "42P05";
    public static final String INVALID_SQL_STATEMENT_NAME = "26000";
    public static final String CONFIG_FILE_ERROR = "F0000";
    /** An error outside the database: here, the system refusing a socket option. */
    public static final String SYSTEM_ERROR = "58000";
    public static final String INTERNAL_ERROR = "XX000";
}
