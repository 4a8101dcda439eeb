package io.pgloom.server.control;

import io.pgloom.server.control.PoolerMetrics.ClientRefusal;
import io.pgloom.server.control.PoolerMetrics.ServerCloseReason;
import io.pgloom.server.pool.PoolKey;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.SqlState;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Refusal and close reasons fold pgloom's error and log texts into a few fixed label values. */
class PoolerMetricsTest {

    private static ClientRefusal refusal(String sqlState, String message) {
        return ClientRefusal.of(ErrorResponse.fatal(sqlState, message));
    }

    @Test
    void clientRefusalsByTheErrorsPgloomSends() {
        assertEquals(ClientRefusal.MAX_CLIENT_CONN, refusal(SqlState.PROTOCOL_VIOLATION, "no more connections allowed (max_client_conn)"));
        assertEquals(ClientRefusal.MAX_DB_CLIENT_CONNECTIONS,
                refusal(SqlState.PROTOCOL_VIOLATION, "client connections exceeded (max_db_client_connections)"));
        assertEquals(ClientRefusal.MAX_USER_CLIENT_CONNECTIONS,
                refusal(SqlState.PROTOCOL_VIOLATION, "client connections exceeded (max_user_client_connections)"));
        assertEquals(ClientRefusal.LOGIN_TIMEOUT, refusal(SqlState.PROTOCOL_VIOLATION, "client_login_timeout"));
        assertEquals(ClientRefusal.QUERY_WAIT_TIMEOUT, refusal(SqlState.PROTOCOL_VIOLATION, "query_wait_timeout"));
        assertEquals(ClientRefusal.SHUTTING_DOWN, refusal(SqlState.ADMIN_SHUTDOWN, "pgloom is shutting down"));
        assertEquals(ClientRefusal.UNKNOWN_DATABASE, refusal(SqlState.INVALID_CATALOG_NAME, "no such database: x"));
        assertEquals(ClientRefusal.AUTH_FAILED, refusal(SqlState.INVALID_PASSWORD, "password authentication failed for user \"a\""));
        assertEquals(ClientRefusal.AUTH_FAILED, refusal(SqlState.PROTOCOL_VIOLATION, "not allowed"));
        assertEquals(ClientRefusal.SERVER_LOGIN_FAILED,
                refusal(SqlState.INVALID_PASSWORD, "pgloom could not log into the server as \"a\": wrong password"));
        assertEquals(ClientRefusal.PROTOCOL_ERROR, refusal(SqlState.PROTOCOL_VIOLATION, "invalid startup packet"));
        assertEquals(ClientRefusal.OTHER, refusal(SqlState.FEATURE_NOT_SUPPORTED, "something else"));
    }

    @Test
    void serverCloseReasonsByPgloomsLogTexts() {
        assertEquals("server_lifetime", ServerCloseReason.of("server_lifetime reached"));
        assertEquals("server_idle_timeout", ServerCloseReason.of("server_idle_timeout reached"));
        assertEquals("check_or_reset_failed", ServerCloseReason.of("server_reset_query failed: boom"));
        assertEquals("check_or_reset_failed", ServerCloseReason.of("server_check_query interrupted"));
        assertEquals("check_or_reset_failed", ServerCloseReason.of("connect_query failed"));
        assertEquals("client_disconnected", ServerCloseReason.of("client disconnected while the server was not idle"));
        assertEquals("server_gone", ServerCloseReason.of("server closed the connection unexpectedly"));
        assertEquals("server_gone", ServerCloseReason.of("server connection lost: reset"));
        assertEquals("shutdown", ServerCloseReason.of("pgloom is shutting down"));
        assertEquals("shutdown", ServerCloseReason.of("pool is closing"));
        assertEquals("other", ServerCloseReason.of("released while not idle"));
        assertEquals("other", ServerCloseReason.of(null));
    }

    @Test
    void everyReasonSeriesStartsAtZeroSoRateSeesItsFirstEvent() {
        PoolerMetrics metrics = new PoolerMetrics();
        metrics.forPool(new PoolKey("app", "alice"));
        MetricSnapshots snapshots = metrics.registry().scrape();
        Map<String, Double> refused = values(snapshots, "pgloom_client_connections_refused", "reason");
        assertEquals(ClientRefusal.values().length, refused.size(), refused.toString());
        for (ClientRefusal r : ClientRefusal.values()) {
            assertEquals(0.0, refused.get(r.label), r.label);
        }
        Map<String, Double> closed = values(snapshots, "pgloom_server_connections_closed", "reason");
        assertEquals(ServerCloseReason.ALL.size(), closed.size(), closed.toString());
        ServerCloseReason.ALL.forEach(r -> assertEquals(0.0, closed.get(r), r));
        assertEquals(Map.of("connect", 0.0, "login", 0.0), values(snapshots, "pgloom_server_connect_failures", "reason"));

        metrics.clientRefused(ClientRefusal.AUTH_FAILED);
        metrics.serverClosed(new PoolKey("app", "alice"), "server_lifetime reached");
        MetricSnapshots after = metrics.registry().scrape();
        assertEquals(1.0, values(after, "pgloom_client_connections_refused", "reason").get("auth_failed"));
        assertEquals(1.0, values(after, "pgloom_server_connections_closed", "reason").get("server_lifetime"));
    }

    @Test
    void everyCloseReasonIsOneOfTheListedOnes() {
        for (String text : new String[] {"server_lifetime reached", "server_idle_timeout", "connect_query failed",
            "client disconnected", "server closed", "pgloom is shutting down", "anything"}) {
            assertTrue(ServerCloseReason.ALL.contains(ServerCloseReason.of(text)), text);
        }
    }

    private static Map<String, Double> values(MetricSnapshots snapshots, String name, String label) {
        Map<String, Double> out = new TreeMap<>();
        for (MetricSnapshot m : snapshots) {
            if (m.getMetadata().getName().equals(name) && m instanceof CounterSnapshot c) {
                for (CounterSnapshot.CounterDataPointSnapshot p : c.getDataPoints()) {
                    out.put(p.getLabels().get(label), p.getValue());
                }
            }
        }
        return out;
    }
}
