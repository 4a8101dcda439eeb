package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.wire.protocol.ErrorResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Who may use the admin console and what each may run: admin_users everything, stats_users SHOW
 * only, anyone else nothing. Every command that changes state is refused to a stats user
 * (PgBouncer's CVE-2026-6667 was KILL_CLIENT open to stats users).
 */
class AdminConsoleRightsTest {
    /** Every command of PgBouncer's console that changes state, in each argument form it takes. */
    static final List<String> STATE_CHANGING = List.of(
            "SET verbose = 1", "SET default_pool_size TO '7'", "RELOAD", "PAUSE", "PAUSE app", "RESUME", "RESUME app",
            "SUSPEND", "DISABLE app", "ENABLE app", "RECONNECT", "RECONNECT app", "KILL", "KILL app",
            "KILL_CLIENT 1", "SHUTDOWN", "SHUTDOWN WAIT_FOR_SERVERS", "SHUTDOWN WAIT_FOR_CLIENTS",
            "WAIT_CLOSE", "WAIT_CLOSE app", "SHOW FDS", "kill_client 1;", "Reload;");
    static final List<String> SHOWS = List.of("HELP", "VERSION", "CONFIG", "DATABASES", "POOLS", "CLIENTS", "SERVERS",
            "USERS", "STATS", "STATS_TOTALS", "STATS_AVERAGES", "TOTALS", "LISTS", "STATE", "MEM", "PEERS", "PEER_POOLS",
            "SOCKETS", "ACTIVE_SOCKETS", "DNS_HOSTS", "DNS_ZONES");

    private static Pgloom pgloom;

    @BeforeAll
    static void start() throws Exception {
        pgloom = Pgloom.start("transaction", "admin_users = postgres\nstats_users = bob\n");
    }

    @AfterAll
    static void stop() throws IOException {
        pgloom.close();
    }

    private static RawClient console(String user, String password) throws IOException {
        return new RawClient(pgloom.port()).login(user, password, "pgbouncer");
    }

    @Test
    void aUserInNeitherListIsRefusedWithPgBouncersError() throws Exception {
        RawClient.LoginFailed refused = assertThrows(RawClient.LoginFailed.class, () -> console("alice", "alice-secret"));
        assertEquals(new ErrorResponse("FATAL", "08P01", "not allowed", null), refused.error);
        // The same user still reaches an ordinary database.
        try (RawClient ok = new RawClient(pgloom.port()).login("alice", "alice-secret", "app")) {
            assertEquals("1", RawClient.firstValue(ok.simpleQuery("SELECT 1")));
        }
    }

    @Test
    void aWrongPasswordIsRefusedBeforeRightsAreLookedAt() throws Exception {
        RawClient.LoginFailed refused = assertThrows(RawClient.LoginFailed.class, () -> console("postgres", "wrong"));
        assertEquals("28P01", refused.error.sqlState());
        assertThrows(RawClient.LoginFailed.class, () -> console("nobody", "nothing"));
    }

    @Test
    void aStatsUserCanShowButCannotChangeAnything() throws Exception {
        try (RawClient c = console("bob", "bob-secret")) {
            for (String show : SHOWS) {
                ConsoleResult r = ConsoleResult.query(c, "SHOW " + show);
                assertNull(r.error(), () -> "SHOW " + show + ": " + r.error().error());
            }
            for (String command : STATE_CHANGING) {
                List<RawClient.Message> reply = c.simpleQuery(command);
                RawClient.Message error = ConsoleResult.of(reply).error();
                assertNotNull(error, command + " must be refused to a stats user");
                assertEquals(new ErrorResponse("ERROR", "08P01", "admin access needed", null), error.error(), command);
                assertEquals('Z', reply.getLast().type(), "the session goes on after " + command);
            }
            // Nothing was changed by any of them.
            assertEquals("yes", ConsoleResult.query(c, "SHOW STATE").row("key", "active").get("value"));
        }
    }

    @Test
    void aStatsUserIsRefusedThroughTheExtendedProtocolToo() throws Exception {
        try (Connection conn = pgloom.connect("pgbouncer", "bob", "bob-secret"); Statement st = conn.createStatement()) {
            for (String command : STATE_CHANGING) {
                SQLException e = assertThrows(SQLException.class, () -> st.execute(command), command);
                assertEquals("08P01", e.getSQLState(), command);
                assertTrue(e.getMessage().contains("admin access needed"), e.getMessage());
            }
            try (ResultSet rs = st.executeQuery("SHOW POOLS")) {
                assertTrue(rs.next());
            }
        }
    }

    @Test
    void anAdminCanShowAndIsToldWhatIsNotBuiltYet() throws Exception {
        try (RawClient c = console("postgres", "postgres")) {
            for (String show : SHOWS) {
                assertNull(ConsoleResult.query(c, "SHOW " + show).error(), "SHOW " + show);
            }
            for (String command : List.of("SUSPEND", "SHOW FDS")) {
                RawClient.Message error = ConsoleResult.of(c.simpleQuery(command)).error();
                assertNotNull(error, command);
                assertEquals("0A000", error.error().sqlState(), command);
                assertTrue(error.error().message().contains("not implemented in pgloom yet"), error.error().message());
            }
        }
        try (Connection conn = pgloom.connect("pgbouncer", "postgres", "postgres"); Statement st = conn.createStatement()) {
            SQLException e = assertThrows(SQLException.class, () -> st.execute("SUSPEND"));
            assertEquals("0A000", e.getSQLState());
        }
    }

    @Test
    void unknownCommandsGetPgBouncersError() throws Exception {
        try (RawClient c = console("postgres", "postgres")) {
            for (String bad : List.of("SHOW NOTHING", "SELECT 1", "FOO", "RELOAD now", "SHUTDOWN later", "SHOW POOLS POOLS")) {
                ErrorResponse e = ConsoleResult.of(c.simpleQuery(bad)).error().error();
                assertEquals(new ErrorResponse("ERROR", "08P01", "invalid command '" + bad + "', use SHOW HELP;", null), e, bad);
            }
        }
    }

    @Test
    void rightsFollowAReload() throws Exception {
        String ini = Files.readString(pgloom.ini);
        try {
            Files.writeString(pgloom.ini, ini.replace("stats_users = bob", "stats_users = bob, alice"));
            assertTrue(pgloom.server.reload());
            try (RawClient c = console("alice", "alice-secret")) {
                assertNull(ConsoleResult.query(c, "SHOW POOLS").error());
                assertEquals("admin access needed", ConsoleResult.of(c.simpleQuery("RELOAD")).error().error().message());
            }
        } finally {
            Files.writeString(pgloom.ini, ini);
            assertTrue(pgloom.server.reload());
        }
        assertThrows(RawClient.LoginFailed.class, () -> console("alice", "alice-secret"));
    }
}
