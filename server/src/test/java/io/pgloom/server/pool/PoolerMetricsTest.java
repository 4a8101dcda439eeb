package io.pgloom.server.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgloom.server.pool.PoolerMetrics.ClientRefusal;
import io.pgloom.server.pool.PoolerMetrics.ServerCloseReason;
import io.pgloom.server.protocol.ErrorResponse;
import io.pgloom.server.protocol.SqlState;
import org.junit.jupiter.api.Test;

/** Refusal and close reasons fold pgloom's error and log texts into a few fixed label values. */
class PoolerMetricsTest {

    private static ClientRefusal refusal(String sqlState, String message) {
        return ClientRefusal.of(ErrorResponse.fatal(sqlState, message));
    }

    @Test
    void clientRefusalsByTheErrorsPgloomSends() {
        assertEquals(ClientRefusal.MAX_CLIENT_CONN, refusal(SqlState.PROTOCOL_VIOLATION, "no more connections allowed (max_client_conn)"));
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
}
