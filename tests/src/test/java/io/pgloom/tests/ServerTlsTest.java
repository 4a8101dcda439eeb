package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.embedded.EmbeddedPostgres;
import io.pgloom.wire.tls.DevCertificates;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS towards PostgreSQL (server_tls_*) against a real PostgreSQL with {@code ssl = on} whose
 * pg_hba.conf refuses plain text: encryption seen from the server's side (pg_stat_ssl), the six
 * modes' checks (a certificate from another CA, a host name or IP address the certificate does not
 * name), a client certificate logging in with the cert method, cancels, RELOAD and SET of the
 * settings (servers made under old rules go, a broken file keeps the old TLS), and servers that
 * break the negotiation (no TLS under require, a stalled handshake, garbage): each costs only the
 * connections that needed that server.
 */
class ServerTlsTest {
    @TempDir
    static Path certs;

    private static DevCertificates ca;
    private static EmbeddedPostgres pg;

    @BeforeAll
    static void startPostgresWithTls() throws Exception {
        ca = DevCertificates.newCa("pgloom test server CA", Duration.ofDays(1));
        Files.writeString(certs.resolve("ca.crt"), ca.ca().certificatePem());
        // Named for localhost only at first: 127.0.0.1 fails verify-full until the rotation test adds it.
        ca.server("localhost", List.of("localhost"), Duration.ofDays(1)).write(certs, "pg");
        ca.client("carol", Duration.ofDays(1)).write(certs, "carol");
        pg = EmbeddedPostgres.builder()
                .superuserPassword(TestPostgres.SUPERUSER_PASSWORD)
                .tls(certs.resolve("pg.crt"), certs.resolve("pg.key"), certs.resolve("ca.crt"))
                .hbaLines(List.of(
                        "hostnossl all all 127.0.0.1/32 reject",
                        "hostnossl all all ::1/128 reject",
                        "hostssl all carol 127.0.0.1/32 cert",
                        "hostssl all carol ::1/128 cert"))
                .bootstrapSql(TestPostgres.bootstrap())
                .bootstrapSql("CREATE ROLE carol LOGIN")
                .start();
    }

    @AfterAll
    static void stopPostgres() {
        if (pg != null) {
            pg.close();
        }
    }

    private static String entries() {
        return "app = host=localhost port=" + pg.port() + " dbname=app\n"
                + "byip = host=127.0.0.1 port=" + pg.port() + " dbname=app\n"
                + "ascarol = host=localhost port=" + pg.port() + " dbname=app user=carol\n"
                + "plainpg = host=" + TestPostgres.shared().host() + " port=" + TestPostgres.shared().port() + " dbname=app\n";
    }

    private static Pgloom start(String settings) throws Exception {
        return Pgloom.startWith("[databases]\n" + entries() + "[pgbouncer]\n" + Pgloom.baseSettings("transaction")
                + "admin_users = postgres\n" + settings, Pgloom.defaultUserlist());
    }

    private static String verifyFull() {
        return "server_tls_sslmode = verify-full\nserver_tls_ca_file = " + certs.resolve("ca.crt") + "\n";
    }

    private static Connection connect(Pgloom p, String db) throws SQLException {
        return p.connect(db, "alice", "alice-secret");
    }

    private static String one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static final String ENCRYPTED = "SELECT ssl || ' ' || version FROM pg_stat_ssl WHERE pid = pg_backend_pid()";

    @Test
    void verifyFullEncryptsChecksNamesAndAddressesAndCancelsStillWork() throws Exception {
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
                Pgloom p = start(verifyFull() + "query_wait_timeout = 3\nserver_login_retry = 1\n")) {
            try (Connection c = connect(p, "app")) {
                assertEquals("true TLSv1.3", one(c, ENCRYPTED));
                try (RawClient admin = new RawClient(p.port()).login("postgres", "postgres", "pgbouncer")) {
                    ConsoleResult servers = ConsoleResult.query(admin, "SHOW SERVERS");
                    String tls = servers.row("database", "app").get("tls");
                    assertTrue(tls.startsWith("TLSv1.3/TLS_"), servers.rows().toString());
                }
                // A cancel reaches the encrypted server's backend (sent in plain text, which
                // PostgreSQL takes before any pg_hba.conf rule).
                try (Statement s = c.createStatement()) {
                    CompletableFuture<Void> cancel = CompletableFuture.runAsync(() -> {
                        try (Connection direct = DriverManager.getConnection(pg.jdbcUrl("app"), superuser())) {
                            while (!"1".equals(one(direct, "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'"
                                    + " AND state = 'active'"))) {
                                Thread.sleep(50);
                            }
                            s.cancel();
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    });
                    SQLException e = assertThrows(SQLException.class, () -> s.execute("SELECT pg_sleep(30)"));
                    assertEquals("57014", e.getSQLState(), e.getMessage());
                    cancel.get(10, TimeUnit.SECONDS);
                }
                assertEquals("1", one(c, "SELECT 1"));
            }
            // 127.0.0.1 is not among the certificate's names: refused, and the log says why.
            assertThrows(SQLException.class, () -> one(connect(p, "byip"), "SELECT 1"));
            log.await("for the name check", l -> l.contains("certificate verify failed") && l.contains("127.0.0.1"));
            // The server's certificate is rotated to name the address too (PostgreSQL rereads it on reload).
            DevCertificates.Issued both = ca.server("localhost", List.of("localhost", "127.0.0.1"), Duration.ofDays(1));
            try {
                serverCertificate(both.certificatePem(), both.keyPem());
                assertEquals("true TLSv1.3", untilServed(p, "byip", ENCRYPTED));
            } finally {
                serverCertificate(Files.readString(certs.resolve("pg.crt")), Files.readString(certs.resolve("pg.key")));
            }
        }
    }

    /** Replaces the certificate and key PostgreSQL presents, and has it reread them. */
    private static void serverCertificate(String certPem, String keyPem) throws Exception {
        Files.writeString(pg.dataDirectory().resolve("server.crt"), certPem);
        Files.writeString(pg.dataDirectory().resolve("server.key"), keyPem);
        try (Connection direct = DriverManager.getConnection(pg.jdbcUrl("app"), superuser())) {
            one(direct, "SELECT pg_reload_conf()");
        }
    }

    private static Properties superuser() {
        Properties p = new Properties();
        p.setProperty("user", TestPostgres.SUPERUSER);
        p.setProperty("password", TestPostgres.SUPERUSER_PASSWORD);
        p.setProperty("sslmode", "require");
        return p;
    }

    /**
     * {@code sql}'s answer through {@code db} once it is served: pg_reload_conf only signals the
     * postmaster, and pgloom waits server_login_retry after a failed login.
     */
    private static String untilServed(Pgloom p, String db, String sql) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try (Connection c = connect(p, db)) {
                return one(c, sql);
            } catch (SQLException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    @Test
    void requireRefusesAServerWithoutTlsAndSetDisableRecovers() throws Exception {
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
                Pgloom p = start("server_tls_sslmode = require\nquery_wait_timeout = 3\nserver_login_retry = 1\n")) {
            SQLException e = assertThrows(SQLException.class, () -> one(connect(p, "plainpg"), "SELECT 1"));
            assertNotEquals("", String.valueOf(e.getSQLState()));
            log.await("for the refusal", l -> l.contains("server does not support SSL, but server_tls_sslmode = require"));
            // The encrypted server is served meanwhile.
            try (Connection c = connect(p, "app")) {
                assertEquals("true TLSv1.3", one(c, ENCRYPTED));
            }
            assertEquals(null, p.server.set("server_tls_sslmode", "disable"));
            assertEquals("1", untilServed(p, "plainpg", "SELECT 1"));
            // The default, prefer, encrypts where the server offers TLS and goes on in plain text where not.
            assertEquals(null, p.server.set("server_tls_sslmode", "prefer"));
            try (Connection c = connect(p, "app"); Connection plain = connect(p, "plainpg")) {
                assertEquals("true TLSv1.3", one(c, ENCRYPTED));
                assertEquals("2", one(plain, "SELECT 2"));
            }
        }
    }

    @Test
    void anotherCaIsRefusedABrokenFileKeepsTheOldTlsAndTheRightCaRecovers() throws Exception {
        DevCertificates other = DevCertificates.newCa("someone else's CA", Duration.ofDays(1));
        Files.writeString(certs.resolve("other-ca.crt"), other.ca().certificatePem());
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
                Pgloom p = start("server_tls_sslmode = verify-ca\nserver_tls_ca_file = " + certs.resolve("other-ca.crt")
                        + "\nquery_wait_timeout = 3\nserver_login_retry = 1\n")) {
            assertThrows(SQLException.class, () -> one(connect(p, "app"), "SELECT 1"));
            log.await("for the refused chain", l -> l.contains("certificate verify failed") && l.contains("localhost:" + pg.port()));
            // A file that is not there: PgBouncer's notice, and the TLS in use stays.
            assertEquals("TLS settings could not be applied, still using old configuration",
                    p.server.set("server_tls_ca_file", certs.resolve("missing.crt").toString()));
            log.await("for the broken file", l -> l.contains("SET server_tls_ca_file: server TLS configuration could not be loaded")
                    && l.contains("missing.crt"));
            assertEquals(null, p.server.set("server_tls_ca_file", certs.resolve("ca.crt").toString()));
            assertEquals("true TLSv1.3", untilServed(p, "app", ENCRYPTED));
            // verify-ca checks the chain, not the name: 127.0.0.1, which the certificate does not name, passes.
            assertEquals("true TLSv1.3", untilServed(p, "byip", ENCRYPTED));
        }
    }

    @Test
    void aClientCertificateLogsInWithTheCertMethod() throws Exception {
        try (Pgloom p = start(verifyFull() + "server_tls_cert_file = " + certs.resolve("carol.crt") + "\nserver_tls_key_file = "
                + certs.resolve("carol.key") + "\n")) {
            try (Connection c = connect(p, "ascarol")) {
                assertEquals("carol", one(c, "SELECT current_user"));
                assertEquals("/CN=carol", one(c, "SELECT client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()"));
            }
        }
        // Without it, the cert method refuses, and says so.
        try (Pgloom p = start(verifyFull() + "query_wait_timeout = 3\n")) {
            SQLException e = assertThrows(SQLException.class, () -> one(connect(p, "ascarol"), "SELECT 1"));
            assertTrue(e.getMessage().contains("certificate"), e.getMessage());
        }
    }

    @Test
    void reloadClosesServersOnlyWhenServerTlsChanged() throws Exception {
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
                Pgloom p = start("")) {
            String before;
            try (Connection c = connect(p, "plainpg")) {
                before = one(c, "SELECT pg_backend_pid()");
            }
            assertTrue(p.server.reload());
            try (Connection c = connect(p, "plainpg")) {
                assertEquals(before, one(c, "SELECT pg_backend_pid()"), "nothing changed: the server connection stays");
            }
            Files.writeString(p.ini, Files.readString(p.ini) + "server_tls_sslmode = disable\n");
            assertTrue(p.server.reload());
            log.await("for the change", l -> l.contains("server TLS settings changed (server_tls_sslmode)"));
            log.await("for the idle server's close", l -> l.contains("plainpg/alice") && l.contains("database configuration changed"));
            try (Connection c = connect(p, "plainpg")) {
                assertNotEquals(before, one(c, "SELECT pg_backend_pid()"), "made under the old rules: replaced");
            }
        }
    }

    @Test
    void serversThatBreakTheNegotiationCostOnlyTheirOwnClients() throws Exception {
        try (FakeServer stalls = new FakeServer(0); FakeServer garbage = new FakeServer(1); FakeServer oddByte = new FakeServer(2);
                LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture()) {
            String extra = "stalls = host=127.0.0.1 port=" + stalls.port() + " dbname=x\n"
                    + "garbage = host=127.0.0.1 port=" + garbage.port() + " dbname=x\n"
                    + "oddbyte = host=127.0.0.1 port=" + oddByte.port() + " dbname=x\n";
            try (Pgloom p = Pgloom.startWith("[databases]\n" + entries() + extra + "[pgbouncer]\n" + Pgloom.baseSettings("transaction")
                    + "server_tls_sslmode = require\nserver_connect_timeout = 1\nquery_wait_timeout = 3\n", Pgloom.defaultUserlist())) {
                for (String db : List.of("stalls", "garbage", "oddbyte")) {
                    assertThrows(SQLException.class, () -> one(connect(p, db), "SELECT 1"), db);
                }
                log.await("for the stalled handshake", l -> l.contains("stalls/alice") && l.contains("Read timed out"));
                log.await("for the garbage", l -> l.contains("garbage/alice") && l.contains("SSL"));
                log.await("for the odd answer", l -> l.contains("oddbyte/alice")
                        && l.contains("server answered the SSLRequest with byte 88, not S or N"));
                try (Connection c = connect(p, "app")) {
                    assertEquals("true TLSv1.3", one(c, ENCRYPTED));
                }
            }
        }
    }

    /**
     * A server that takes an SSLRequest and then misbehaves, the same way each time: answers 'S'
     * and stalls (kind 0), answers 'S' and sends plain-text garbage (1), or answers 'X' (2).
     */
    private static final class FakeServer implements AutoCloseable {
        private final ServerSocket socket = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());

        FakeServer(int kind) throws java.io.IOException {
            Thread.ofVirtual().start(() -> {
                while (!socket.isClosed()) {
                    try {
                        Socket s = socket.accept();
                        Thread.ofVirtual().start(() -> answer(s, kind));
                    } catch (java.io.IOException e) {
                        return;
                    }
                }
            });
        }

        int port() {
            return socket.getLocalPort();
        }

        private static void answer(Socket s, int kind) {
            try (s) {
                InputStream in = s.getInputStream();
                in.readNBytes(8);
                var out = s.getOutputStream();
                switch (kind) {
                    case 0 -> out.write('S');
                    case 1 -> out.write(("S" + "HTTP/1.1 400 Bad Request\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    default -> out.write('X');
                }
                out.flush();
                s.setSoTimeout(5_000);
                in.readAllBytes(); // until pgloom hangs up, or 5 s
            } catch (java.io.IOException ignored) {
                // pgloom hung up: what the test expects
            }
        }

        @Override
        public void close() throws java.io.IOException {
            socket.close();
        }
    }
}
