package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.config.ScramSecret;
import io.pgloom.wire.auth.Md5Password;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.MessageBuilder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Client authentication by auth_type against userlist.txt, and login to the server. */
class AuthTest {

    private static String whoAmI(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_user")) {
            rs.next();
            return rs.getString(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"scram-sha-256", "md5", "plain"})
    void rightPasswordLogsIn(String authType) throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "auth_type = " + authType + "\n"); Connection c = p.connect()) {
            assertEquals("alice", whoAmI(c));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"scram-sha-256", "md5", "plain"})
    void wrongPasswordAndUnknownUserGetTheSameFatalError(String authType) throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "auth_type = " + authType + "\n")) {
            SQLException wrong = assertThrows(SQLException.class, () -> p.connect("app", "alice", "not-her-password"));
            assertEquals("28P01", wrong.getSQLState());
            assertEquals("FATAL: password authentication failed for user \"alice\"", wrong.getMessage());
            SQLException unknown = assertThrows(SQLException.class, () -> p.connect("app", "mallory", "whatever"));
            assertEquals("28P01", unknown.getSQLState());
            assertEquals("FATAL: password authentication failed for user \"mallory\"", unknown.getMessage());
            try (Connection c = p.connect()) {
                assertEquals("alice", whoAmI(c), "a failed login costs the others nothing");
            }
        }
    }

    @Test
    void unterminatedPasswordIsAProtocolErrorWhileTheTerminatedOneLogsIn() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "auth_type = plain\n")) {
            try (RawClient c = new RawClient(p.port())) {
                c.send(RawClient.startupPacket(Map.of("user", "alice", "database", "app")));
                c.readUntil('R');
                c.send(new MessageBuilder('p').bytes("alice-secret".getBytes(StandardCharsets.UTF_8)).build());
                ErrorResponse e = c.readError();
                assertEquals("FATAL", e.severity(), e.toString());
                assertEquals("08P01", e.sqlState(), e.toString());
                assertEquals("malformed PasswordMessage", e.message());
                assertTrue(c.closedByPeer(), "the offending client is closed");
            }
            // The smallest well-formed twin: the same password with its NUL.
            try (RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
                assertEquals("alice", RawClient.firstValue(c.simpleQuery("SELECT current_user")));
            }
        }
    }

    @Test
    void hashedSecretsInUserlistWork() throws Exception {
        // As with PgBouncer, SCRAM pass-through needs the userlist secret to be the server's own one.
        String aliceSecret;
        try (Connection d = TestPostgres.direct("postgres"); Statement s = d.createStatement();
                ResultSet rs = s.executeQuery("SELECT rolpassword FROM pg_authid WHERE rolname = 'alice'")) {
            rs.next();
            aliceSecret = rs.getString(1);
        }
        assertEquals(true, ScramSecret.parse(aliceSecret).isPresent(), aliceSecret);
        String userlist = """
                "alice" "%s"
                "bob" "%s"
                """.formatted(aliceSecret, Md5Password.hash("bob", "bob-secret"));
        String ini = Pgloom.baseSettings("transaction");
        TestPostgres.Endpoint pg = TestPostgres.shared();
        String text = "[databases]\napp = host=%s port=%d dbname=app\n[pgbouncer]\n%s\nauth_type = md5\n"
                .formatted(pg.host(), pg.port(), ini.replace("auth_type = scram-sha-256\n", ""));
        try (Pgloom p = Pgloom.startWith(text, userlist)) {
            // alice has a SCRAM secret: she logs in with SCRAM even under auth_type md5, and pgloom reuses
            // the keys of her login to log into PostgreSQL (scram-sha-256) without knowing her password.
            try (Connection c = p.connect("app", "alice", "alice-secret")) {
                assertEquals("alice", whoAmI(c));
            }
            // bob has an md5 hash: md5 to the client; the server wants SCRAM, which an md5 hash cannot do.
            SQLException e = assertThrows(SQLException.class, () -> {
                try (Connection c = p.connect("app", "bob", "bob-secret")) {
                    whoAmI(c);
                }
            });
            assertEquals("28P01", e.getSQLState(), e.getMessage());
        }
    }

    @Test
    void trustNeedsTheUserInTheAuthFile() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "auth_type = trust\n")) {
            try (Connection c = p.connect("app", "alice", "")) {
                assertEquals("alice", whoAmI(c));
            }
            SQLException e = assertThrows(SQLException.class, () -> p.connect("app", "mallory", ""));
            assertEquals("28000", e.getSQLState(), "no password was asked for: invalid_authorization_specification");
            assertTrue(e.getMessage().contains("\"trust\" authentication failed for user \"mallory\""), e.getMessage());
        }
    }

    @Test
    void unknownDatabaseIsRefusedByName() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "")) {
            SQLException e = assertThrows(SQLException.class, () -> p.connect("nosuchdb", "alice", "alice-secret"));
            assertEquals("3D000", e.getSQLState());
            assertEquals("FATAL: no such database: nosuchdb", e.getMessage());
        }
    }

    @Test
    void aServerPasswordChangeFailsTheWaitingClientsWithOneLoginAttempt() throws Exception {
        TestPostgres.execute("postgres", "DROP ROLE IF EXISTS pw_rotate");
        TestPostgres.execute("postgres", "CREATE ROLE pw_rotate LOGIN PASSWORD 'old-secret'");
        TestPostgres.execute("app", "GRANT CONNECT ON DATABASE app TO pw_rotate");
        TestPostgres.Endpoint pg = TestPostgres.shared();
        String ini = Pgloom.iniText("transaction", "admin_users = postgres\n",
                "rot = host=" + pg.host() + " port=" + pg.port() + " dbname=app user=pw_rotate pool_size=1\n");
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
                Pgloom p = Pgloom.startWith(ini, Pgloom.defaultUserlist() + "\"pw_rotate\" \"old-secret\"\n");
                RawClient holder = new RawClient(p.port()).login("alice", "alice-secret", "rot");
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "rot");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "rot");
                RawClient console = new RawClient(p.port()).login("postgres", "postgres", "pgbouncer")) {
            holder.simpleQuery("BEGIN"); // holds the pool's one server, logged in with the old password
            TestPostgres.execute("postgres", "ALTER ROLE pw_rotate PASSWORD 'new-secret'");
            a.send(RawClient.query("SELECT 1"));
            b.send(RawClient.query("SELECT 1"));
            console.simpleQuery("RECONNECT rot"); // the held server closes when released
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
            while (p.server.pooler().describePools().stream().noneMatch(d -> d.contains("rot/pw_rotate") && d.contains("waiting=2"))
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            holder.simpleQuery("COMMIT");
            assertEquals("28P01", a.readError().sqlState());
            assertEquals("28P01", b.readError().sqlState());
            assertEquals(1, log.matching(l -> l.contains("rot/pw_rotate: server login failed")).size(),
                    "one login tried, both waiting clients told its refusal");
        } finally {
            TestPostgres.execute("postgres", "DROP OWNED BY pw_rotate; DROP ROLE pw_rotate");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"scram-sha-256", "md5", "plain"})
    void aWrongPasswordForAnUnknownDatabaseIsAWrongPassword(String authType) throws Exception {
        // As PostgreSQL and PgBouncer: who the client is first, so database names cannot be probed.
        try (Pgloom p = Pgloom.start("transaction", "auth_type = " + authType + "\n")) {
            SQLException e = assertThrows(SQLException.class, () -> p.connect("nosuchdb", "alice", "not-her-password"));
            assertEquals("28P01", e.getSQLState());
            assertEquals("FATAL: password authentication failed for user \"alice\"", e.getMessage());
            SQLException right = assertThrows(SQLException.class, () -> p.connect("nosuchdb", "alice", "alice-secret"));
            assertEquals("3D000", right.getSQLState(), "told only once authenticated");
        }
    }
}
