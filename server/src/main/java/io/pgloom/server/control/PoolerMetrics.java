package io.pgloom.server.control;

import io.pgloom.server.pool.PoolKey;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.SqlState;
import io.prometheus.metrics.core.datapoints.CounterDataPoint;
import io.prometheus.metrics.core.datapoints.DistributionDataPoint;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.Unit;

/**
 * pgloom's own metrics that the data path feeds as things happen: wait and query time histograms
 * per pool, client logins accepted and refused, server connections opened, failed and closed.
 * (The PgBouncer-compatible figures are read from the pools at scrape time instead.)
 *
 * <p>Threading: every method may be called from any client or server thread. Counters and
 * histograms of client_java 1.x add to striped adders without a lock; a pool resolves its label
 * values once ({@link PoolSeries}), so the hot path does no map lookup either. A scrape reads the
 * same adders and never blocks a writer.
 */
public final class PoolerMetrics {
    /** Seconds; from a fast transaction-mode round trip to a long report. */
    private static final double[] DURATION_BUCKETS = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final Histogram waitSeconds = Histogram.builder()
            .name("pgloom_client_wait_seconds")
            .help("Time a client waited for a server connection, once per server assignment")
            .unit(Unit.SECONDS).labelNames("database", "user")
            .classicOnly().classicUpperBounds(DURATION_BUCKETS).withoutExemplars().register(registry);
    private final Histogram querySeconds = Histogram.builder()
            .name("pgloom_query_duration_seconds")
            .help("Time from a request to its ReadyForQuery on the server, once per query")
            .unit(Unit.SECONDS).labelNames("database", "user")
            .classicOnly().classicUpperBounds(DURATION_BUCKETS).withoutExemplars().register(registry);
    private final Histogram transactionSeconds = Histogram.builder()
            .name("pgloom_transaction_duration_seconds")
            .help("Time from a transaction's first request to the ReadyForQuery that ends it, once per transaction")
            .unit(Unit.SECONDS).labelNames("database", "user")
            .classicOnly().classicUpperBounds(DURATION_BUCKETS).withoutExemplars().register(registry);
    private final Counter clientsAccepted = Counter.builder()
            .name("pgloom_client_connections_accepted")
            .help("Client logins that succeeded (pools and admin console)")
            .withoutExemplars().register(registry);
    private final Counter clientsRefused = Counter.builder()
            .name("pgloom_client_connections_refused")
            .help("Client connections refused before or during login, by reason")
            .labelNames("reason").withoutExemplars().register(registry);
    private final Counter serversOpened = Counter.builder()
            .name("pgloom_server_connections_opened")
            .help("Server connections opened and logged in")
            .labelNames("database", "user").withoutExemplars().register(registry);
    private final Counter serverConnectFailures = Counter.builder()
            .name("pgloom_server_connect_failures")
            .help("Server connections that could not be opened (connect) or logged in (login)")
            .labelNames("database", "user", "reason").withoutExemplars().register(registry);
    private final Counter serversClosed = Counter.builder()
            .name("pgloom_server_connections_closed")
            .help("Server connections closed, by reason")
            .labelNames("database", "user", "reason").withoutExemplars().register(registry);

    /**
     * Every refusal reason starts at 0: a series that appears only with its first event hides that
     * event from rate() and increase(), so a dashboard would miss the first burst of refusals.
     */
    public PoolerMetrics() {
        for (ClientRefusal reason : ClientRefusal.values()) {
            clientsRefused.labelValues(reason.label);
        }
    }

    /** The registry these metrics live in; the metrics listener adds the scrape-time ones beside them. */
    public PrometheusRegistry registry() {
        return registry;
    }

    /** One pool's series, resolved once when the pool is made. */
    public record PoolSeries(DistributionDataPoint waitTime, DistributionDataPoint query, DistributionDataPoint transaction,
                      CounterDataPoint opened) {
    }

    /** The pool's series; its close and connect-failure reasons start at 0, as refusals do. */
    public PoolSeries forPool(PoolKey key) {
        for (String reason : ServerCloseReason.ALL) {
            serversClosed.labelValues(key.database(), key.user(), reason);
        }
        serverConnectFailures.labelValues(key.database(), key.user(), "connect");
        serverConnectFailures.labelValues(key.database(), key.user(), "login");
        return new PoolSeries(waitSeconds.labelValues(key.database(), key.user()),
                querySeconds.labelValues(key.database(), key.user()),
                transactionSeconds.labelValues(key.database(), key.user()),
                serversOpened.labelValues(key.database(), key.user()));
    }

    /** A client logged in: to a pool, or (AdminConsole calls this) to the admin console. */
    public void clientAccepted() {
        clientsAccepted.inc();
    }

    public void clientRefused(ClientRefusal reason) {
        clientsRefused.labelValues(reason.label).inc();
    }

    public void serverConnectFailed(PoolKey key, boolean login) {
        serverConnectFailures.labelValues(key.database(), key.user(), login ? "login" : "connect").inc();
    }

    public void serverClosed(PoolKey key, String reason) {
        serversClosed.labelValues(key.database(), key.user(), ServerCloseReason.of(reason)).inc();
    }

    /** Why a client was turned away: a short, fixed set of label values (never free text). */
    public enum ClientRefusal {
        MAX_CLIENT_CONN("max_client_conn"), MAX_DB_CLIENT_CONNECTIONS("max_db_client_connections"),
        MAX_USER_CLIENT_CONNECTIONS("max_user_client_connections"), SHUTTING_DOWN("shutting_down"), UNKNOWN_DATABASE("unknown_database"),
        AUTH_FAILED("auth_failed"), LOGIN_TIMEOUT("client_login_timeout"), QUERY_WAIT_TIMEOUT("query_wait_timeout"),
        SERVER_LOGIN_FAILED("server_login_failed"), PROTOCOL_ERROR("protocol_error"), OTHER("other");

        final String label;

        ClientRefusal(String label) {
            this.label = label;
        }

        /** The reason of the FATAL error a client was refused with, from its SQLSTATE and text. */
        public static ClientRefusal of(ErrorResponse error) {
            String state = error.sqlState();
            String message = error.message() == null ? "" : error.message();
            if (message.contains("max_client_conn")) {
                return MAX_CLIENT_CONN;
            }
            if (message.endsWith("(max_db_client_connections)")) {
                return MAX_DB_CLIENT_CONNECTIONS;
            }
            if (message.endsWith("(max_user_client_connections)")) {
                return MAX_USER_CLIENT_CONNECTIONS;
            }
            if (message.equals("client_login_timeout")) {
                return LOGIN_TIMEOUT;
            }
            if (message.equals("query_wait_timeout")) {
                return QUERY_WAIT_TIMEOUT;
            }
            if (message.equals("not allowed")) {
                return AUTH_FAILED; // the admin console refuses users outside admin_users and stats_users
            }
            if (message.startsWith("pgloom could not log into the server") || message.startsWith("server login has been failing")) {
                return SERVER_LOGIN_FAILED;
            }
            return switch (state == null ? "" : state) {
                case SqlState.ADMIN_SHUTDOWN -> SHUTTING_DOWN;
                case SqlState.INVALID_CATALOG_NAME -> UNKNOWN_DATABASE;
                case SqlState.INVALID_PASSWORD, SqlState.INVALID_AUTHORIZATION -> AUTH_FAILED;
                case SqlState.PROTOCOL_VIOLATION -> PROTOCOL_ERROR;
                default -> OTHER;
            };
        }
    }

    /**
     * The label value of a server connection's close reason. The reasons are pgloom's own log
     * texts (Pool, ServerConnection, ClientSession); this folds them into a few words so the
     * series stay few.
     */
    static final class ServerCloseReason {
        /** Every value {@link #of} answers. */
        static final java.util.List<String> ALL = java.util.List.of("server_lifetime", "server_idle_timeout",
                "check_or_reset_failed", "client_disconnected", "server_gone", "shutdown", "other");

        private ServerCloseReason() {
        }

        public static String of(String reason) {
            if (reason == null) {
                return "other";
            }
            if (reason.startsWith("server_lifetime")) {
                return "server_lifetime";
            }
            if (reason.startsWith("server_idle_timeout")) {
                return "server_idle_timeout";
            }
            if (reason.startsWith("server_check_query") || reason.startsWith("server_reset_query")
                    || reason.startsWith("connect_query")) {
                return "check_or_reset_failed";
            }
            if (reason.startsWith("client disconnected")) {
                return "client_disconnected";
            }
            if (reason.startsWith("server closed") || reason.startsWith("server connection")) {
                return "server_gone";
            }
            if (reason.contains("shutting down") || reason.startsWith("pool is closing")) {
                return "shutdown";
            }
            return "other";
        }
    }
}
