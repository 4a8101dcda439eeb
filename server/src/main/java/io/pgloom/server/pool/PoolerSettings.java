package io.pgloom.server.pool;

import io.pgloom.config.AuthType;
import io.pgloom.config.PoolMode;
import io.pgloom.config.SettingValues;
import java.time.Duration;
import java.util.HashSet;
import java.util.Locale;
import java.util.Set;

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
        Set<String> ignoreStartupParameters,
        int maxPacketSize,
        int maxPreparedStatements,
        boolean tcpKeepalive,
        Set<String> adminUsers,
        Set<String> statsUsers) {

    public static PoolerSettings from(SettingValues v) {
        Set<String> ignored = new HashSet<>();
        for (String p : v.list("ignore_startup_parameters")) {
            ignored.add(p.toLowerCase(Locale.ROOT));
        }
        String check = v.string("server_check_query");
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
                check == null || check.equals("<empty>") ? "" : check,
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
                Set.copyOf(ignored),
                v.integer("max_packet_size"),
                v.integer("max_prepared_statements"),
                v.bool("tcp_keepalive"),
                Set.copyOf(v.list("admin_users")),
                Set.copyOf(v.list("stats_users")));
    }
}
