package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.wire.protocol.ErrorResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * auth_type = hba through real clients, pgjdbc and the raw-protocol client, over TCP and the Unix
 * socket: each method a rule can name, the first matching rule deciding, no rule, peer with an
 * ident map, and a reload that changes the rules. After every refusal, a client already logged in
 * keeps working. pgloom runs in this JVM, so this process's OS user is the peer's.
 */
class HbaAuthTest {
    private static final String ME = System.getProperty("user.name");

    /** Line numbers matter: the log must name the rule that decided. */
    private static String rules() {
        return """
                # HbaAuthTest: first match wins
                local  all       all        peer  map=ops
                host   app       bob        127.0.0.1/32               trust
                host   all       bob        all                        reject
                host   all       alice      127.0.0.0/8                md5
                host   all       alice      all                        reject
                host   postgres  postgres   127.0.0.1 255.255.255.255  scram-sha-256
                """;
    }

    private static String ident() {
        return """
                # which OS user may log in as whom over the Unix socket
                ops  %s          alice
                ops  /^(%s)$     postgres
                """.formatted(ME, ME);
    }

    /**
     * pgloom with {@link #rules()} and {@link #ident()} in {@code dir}, its Unix socket there too, a
     * capture of its log, and alice logged in over TCP: the client that must keep working.
     */
    private record Fixture(Path hba, LogSettingsTest.LogCapture log, Pgloom p, Connection open) implements AutoCloseable {

        static Fixture start(Path dir) throws Exception {
            Path hba = Files.writeString(dir.resolve("hba.conf"), rules());
            Path ident = Files.writeString(dir.resolve("ident.conf"), ident());
            String ini = Pgloom.iniText("transaction", "unix_socket_dir = " + dir + "\nadmin_users = alice\nauth_type = hba\nauth_hba_file = "
                    + hba + "\nauth_ident_file = " + ident + "\n", "");
            LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
            Pgloom p = Pgloom.startWith(ini, Pgloom.defaultUserlist());
            return new Fixture(hba, log, p, p.connect("app", "alice", "alice-secret"));
        }

        /**
         * A raw-protocol login over TCP that pgloom refuses with FATAL {@code sqlState} {@code message},
         * logging {@code why} for that client, while the client logged in at the start goes on.
         */
        void assertRefused(String user, String password, String database, String sqlState, String message, String why)
                throws Exception {
            RawClient.LoginFailed refused = assertThrows(RawClient.LoginFailed.class,
                    () -> new RawClient(p.port()).login(user, password, database));
            assertEquals(new ErrorResponse("FATAL", sqlState, message, null), refused.error);
            log.await("saying why " + user + "@" + database + " was refused",
                    l -> l.contains(user + "@" + database + " from 127.0.0.1:") && l.contains(why));
            stillServes();
        }

        /** The client logged in at the start still gets answers. */
        void stillServes() throws SQLException {
            assertServes(open);
        }

        @Override
        public void close() throws Exception {
            try (log; p; open) {
                // closes all three
            }
        }
    }

    private static void assertServes(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); var rs = s.executeQuery("SELECT 1")) {
            assertTrue(rs.next());
        }
    }

    @Test
    void eachRuleDecidesItsClientsAndTheFirstMatchWins(@TempDir Path dir) throws Exception {
        try (Fixture f = Fixture.start(dir)) {
            f.stillServes(); // md5, right password, over TCP: the client that must keep working

            // trust: any password will do.
            try (Connection bob = f.p().connect("app", "bob", "not bob's password")) {
                assertServes(bob);
            }
            // md5, wrong password: 28P01, the rule named in the log.
            SQLException wrong = assertThrows(SQLException.class, () -> f.p().connect("app", "alice", "guess"));
            assertEquals("28P01", wrong.getSQLState());
            f.log().await("naming the md5 rule", l -> l.contains("alice@app from 127.0.0.1:")
                    && l.contains("(wrong password, md5, hba rule " + f.hba() + ":5)"));
            f.stillServes();

            // The first match wins: bob's trust line 3 comes before his reject line 4, which refuses only the rest.
            f.assertRefused("bob", "bob-secret", "postgres", "28000", "pg_hba.conf rejects connection for host"
                    + " \"127.0.0.1\", user \"bob\", database \"postgres\", no encryption",
                    "(login rejected by hba rule " + f.hba() + ":4)");
            // ... and alice's md5 line 5 shadows her reject line 6 for every database.
            try (Connection other = f.p().connect("postgres", "alice", "alice-secret")) {
                assertServes(other);
            }

            // scram-sha-256, through the netmask form: wrong, then right.
            f.assertRefused("postgres", "nope", "postgres", "28P01", "password authentication failed for user \"postgres\"",
                    "(SCRAM: SCRAM proof is wrong (wrong password), hba rule " + f.hba() + ":7)");
            try (RawClient ok = new RawClient(f.p().port()).login("postgres", "postgres", "postgres")) {
                assertEquals("1", RawClient.firstValue(ok.simpleQuery("SELECT 1")));
            }

            // No rule for postgres@app over TCP.
            f.assertRefused("postgres", "postgres", "app", "28000", "no pg_hba.conf entry for host \"127.0.0.1\", user"
                    + " \"postgres\", database \"app\", no encryption",
                    "(no authentication method is found: no rule of " + f.hba() + " matches)");
        }
    }

    @Test
    void peerOverTheUnixSocketFollowsTheIdentMap(@TempDir Path dir) throws Exception {
        try (Fixture f = Fixture.start(dir)) {
            Path socket = dir.resolve(".s.PGSQL." + f.p().port());
            // A literal line, then a regular expression with \1: no password is asked for either.
            try (RawClient alice = new RawClient(socket).login("alice", "not asked for", "app")) {
                assertEquals("1", RawClient.firstValue(alice.simpleQuery("SELECT 1")));
            }
            try (RawClient postgres = new RawClient(socket).login("postgres", "not asked for", "postgres")) {
                assertEquals("1", RawClient.firstValue(postgres.simpleQuery("SELECT 1")));
            }
            RawClient.LoginFailed bob = assertThrows(RawClient.LoginFailed.class,
                    () -> new RawClient(socket).login("bob", "bob-secret", "app"));
            assertEquals(new ErrorResponse("FATAL", "28000", "Peer authentication failed for user \"bob\"", null), bob.error);
            f.log().await("in PgBouncer's words, with the rule", l -> l.contains("bob@app from unix:")
                    && l.contains("ident map ops cannot be matched") && l.contains("hba rule " + f.hba() + ":2"));
            f.stillServes();
        }
    }

    @Test
    void aReloadChangesTheRulesAndABrokenFileKeepsTheOldOnes(@TempDir Path dir) throws Exception {
        try (Fixture f = Fixture.start(dir);
             RawClient console = new RawClient(f.p().port()).login("alice", "alice-secret", "pgbouncer")) {
            try (Connection bob = f.p().connect("app", "bob", "anything")) {
                assertServes(bob);
            }
            Files.writeString(f.hba(), "host app bob 127.0.0.1/32 reject\nhost all alice all md5\n");
            // RELOAD on the console...
            assertEquals(null, ConsoleResult.of(console.simpleQuery("RELOAD")).error());
            String bobRejected = "pg_hba.conf rejects connection for host \"127.0.0.1\", user \"bob\", database \"app\","
                    + " no encryption";
            f.assertRefused("bob", "bob-secret", "app", "28000", bobRejected, "(login rejected by hba rule " + f.hba() + ":1)");

            Files.writeString(f.hba(), "host app bob 127.0.0.1/32 trust\nhost all alice 127.0.0.1/40 md5\n");
            // ... and SIGHUP's path, with a broken file.
            assertFalse(f.p().server.reload(), "a broken hba file is refused");
            f.log().await("naming the broken line", l -> l.contains("reload refused, keeping the running config: " + f.hba()
                    + ":2: invalid prefix length /40: expected 0 to 32"));
            // The old rules hold.
            f.assertRefused("bob", "bob-secret", "app", "28000", bobRejected, "(login rejected by hba rule " + f.hba() + ":1)");
            try (Connection alice = f.p().connect("postgres", "alice", "alice-secret")) {
                assertServes(alice);
            }
            f.stillServes();
        }
    }

    @Test
    void setOnTheConsoleSwitchesToAndFromHbaAndRefusesABrokenFile(@TempDir Path dir) throws Exception {
        try (Fixture f = Fixture.start(dir);
             RawClient console = new RawClient(f.p().port()).login("alice", "alice-secret", "pgbouncer")) {
            Files.writeString(dir.resolve("broken.conf"), "host all all all trust\nhost all all\n");
            RawClient.Message refused = ConsoleResult.of(console.simpleQuery("SET auth_hba_file = '" + dir.resolve("broken.conf")
                    + "'")).error();
            assertEquals("SET failed: " + dir.resolve("broken.conf") + ":2: expected host DATABASE USER ADDRESS METHOD"
                    + " [OPTIONS]", refused.error().message());

            // Out of hba, bob's reject rule no longer applies; back in, it does again.
            assertEquals(null, ConsoleResult.of(console.simpleQuery("SET auth_type = 'scram-sha-256'")).error());
            try (RawClient bob = new RawClient(f.p().port()).login("bob", "bob-secret", "postgres")) {
                assertEquals("1", RawClient.firstValue(bob.simpleQuery("SELECT 1")));
            }
            assertEquals(null, ConsoleResult.of(console.simpleQuery("SET auth_type = 'hba'")).error());
            f.assertRefused("bob", "bob-secret", "postgres", "28000", "pg_hba.conf rejects connection for host"
                    + " \"127.0.0.1\", user \"bob\", database \"postgres\", no encryption",
                    "(login rejected by hba rule " + f.hba() + ":4)");
        }
    }
}
