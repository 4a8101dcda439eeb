package io.pgloom.server.control;

import io.pgloom.config.AuthType;
import io.pgloom.config.PoolMode;
import io.pgloom.config.SettingValues;
import io.pgloom.wire.tcp.TcpTuning;
import java.time.Duration;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The [pgbouncer] settings the data path reads, copied out of a config snapshot once per load so
 * that the hot path reads final fields instead of looking names up.
 */
public record PoolerSettings(
        PoolMode poolMode,
        AuthType authType,
        int maxClientConn,
        int defaultPoolSize,
        int minPoolSize,
        int reservePoolSize,
        Duration reservePoolTimeout,
        int maxDbConnections,
        int maxUserConnections,
        String serverResetQuery,
        boolean serverResetQueryAlways,
        String serverCheckQuery,
        Duration serverCheckDelay,
        Duration serverLifetime,
        Duration serverIdleTimeout,
        Duration serverConnectTimeout,
        Duration serverLoginRetry,
        Duration queryTimeout,
        Duration queryWaitTimeout,
        Duration clientIdleTimeout,
        Duration clientLoginTimeout,
        Duration idleTransactionTimeout,
        Duration transactionTimeout,
        Set<String> ignoreStartupParameters,
        int maxPacketSize,
        int maxPreparedStatements,
        TcpTuning tcp,
        Set<String> adminUsers,
        Set<String> statsUsers,
        boolean logConnections,
        boolean logDisconnections,
        boolean logPoolerErrors,
        int maxDbClientConnections,
        int maxUserClientConnections,
        Duration queryWaitNotify,
        boolean applicationNameAddHost,
        String loginNotifyMessage,
        boolean serverRoundRobin,
        Duration cancelWaitTimeout,
        int scramIterations,
        Duration poolIdleTimeout,
        Duration autodbIdleTimeout,
        boolean disablePqexec,
        boolean serverFastClose) {

    /** PgBouncer's spelling for "send an empty query" in server_check_query. */
    static final String EMPTY_QUERY = "<empty>";

    /**
     * How long a released server may idle before server_check_query runs on it when it is reused:
     * server_check_delay, or {@link Long#MAX_VALUE} when the check is off (an empty
     * server_check_query), so that "is a check due?" is one comparison.
     */
    public long checkAfterNanos() {
        return serverCheckQuery.isEmpty() ? Long.MAX_VALUE : Math.max(0, serverCheckDelay.toNanos());
    }

    /** The SQL a check sends: the setting as written, except PgBouncer's {@code <empty>}, an empty query. */
    public String checkQuerySql() {
        return serverCheckQuery.equals(EMPTY_QUERY) ? "" : serverCheckQuery;
    }

    /**
     * How long a check may take before the server counts as dead: server_connect_timeout, since
     * like a login it stands between a waiting client and a usable server; when that is 0 (no
     * limit), PgBouncer's default of 15 s, so a server that never answers cannot hold a client.
     */
    public long checkTimeoutNanos() {
        long t = serverConnectTimeout.toNanos();
        return t > 0 ? t : TimeUnit.SECONDS.toNanos(15);
    }

    public static PoolerSettings from(SettingValues v) {
        Set<String> ignored = new HashSet<>();
        for (String p : v.list("ignore_startup_parameters")) {
            ignored.add(p.toLowerCase(Locale.ROOT));
        }
        return new PoolerSettings(
                v.poolMode(),
                v.authType(),
                v.integer("max_client_conn"),
                v.integer("default_pool_size"),
                v.integer("min_pool_size"),
                v.integer("reserve_pool_size"),
                v.time("reserve_pool_timeout"),
                v.integer("max_db_connections"),
                v.integer("max_user_connections"),
                v.string("server_reset_query"),
                v.bool("server_reset_query_always"),
                v.string("server_check_query"),
                v.time("server_check_delay"),
                v.time("server_lifetime"),
                v.time("server_idle_timeout"),
                v.time("server_connect_timeout"),
                v.time("server_login_retry"),
                v.time("query_timeout"),
                v.time("query_wait_timeout"),
                v.time("client_idle_timeout"),
                v.time("client_login_timeout"),
                v.time("idle_transaction_timeout"),
                v.time("transaction_timeout"),
                Set.copyOf(ignored),
                v.integer("max_packet_size"),
                v.integer("max_prepared_statements"),
                new TcpTuning(v.bool("tcp_keepalive"), v.integer("tcp_keepidle"), v.integer("tcp_keepintvl"),
                        v.integer("tcp_keepcnt"), v.integer("tcp_socket_buffer")),
                Set.copyOf(v.list("admin_users")),
                Set.copyOf(v.list("stats_users")),
                v.bool("log_connections"),
                v.bool("log_disconnections"),
                v.bool("log_pooler_errors"),
                v.integer("max_db_client_connections"),
                v.integer("max_user_client_connections"),
                v.time("query_wait_notify"),
                v.bool("application_name_add_host"),
                v.string("login_notify_message"),
                v.bool("server_round_robin"),
                v.time("cancel_wait_timeout"),
                v.integer("scram_iterations"),
                v.time("pool_idle_timeout"),
                v.time("autodb_idle_timeout"),
                v.bool("disable_pqexec"),
                v.bool("server_fast_close"));
    }
}
