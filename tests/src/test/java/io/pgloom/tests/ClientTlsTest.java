package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.MessageBuilder;
import io.pgloom.wire.tls.DevCertificates;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS towards clients (client_tls_*), with real clients: pgjdbc and psql/libpq with
 * sslmode=verify-full against certificates from a development CA, plain text refused under
 * require with PgBouncer's error, the Unix socket never encrypted, client certificates under
 * verify-full, and the failures that must cost only the offending connection: garbage instead of a
 * ClientHello, a handshake that stalls, a certificate file that a RELOAD or SET breaks.
 */
class ClientTlsTest {
    @TempDir
    Path certs;

    private DevCertificates dev;

    /** A CA, a server certificate for localhost and 127.0.0.1, and a client certificate for alice, in {@link #certs}. */
    private String tlsSettings(String mode) throws Exception {
        dev = DevCertificates.newCa("pgloom test CA", Duration.ofDays(1));
        Files.writeString(certs.resolve("ca.crt"), dev.ca().certificatePem());
        dev.server("localhost", List.of("localhost", "127.0.0.1"), Duration.ofDays(1)).write(certs, "server");
        dev.client("alice", Duration.ofDays(1)).write(certs, "alice");
        return "client_tls_sslmode = " + mode + "\n"
                + "client_tls_cert_file = " + certs.resolve("server.crt") + "\n"
                + "client_tls_key_file = " + certs.resolve("server.key") + "\n"
                + "client_tls_ca_file = " + certs.resolve("ca.crt") + "\n";
    }

    private static Properties ssl(String mode, Path rootCert) {
        Properties p = new Properties();
        p.setProperty("sslmode", mode);
        if (rootCert != null) {
            p.setProperty("sslrootcert", rootCert.toString());
        }
        return p;
    }

    private static String one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Runs psql with {@code conninfo} and returns its exit code and output. */
    private static String[] psql(String conninfo, String... commands) throws Exception {
        String psql = AdminConsoleColumnsTest.onPath("psql");
        assumeTrue(psql != null, "psql is not on PATH: skipping the libpq TLS test (CI installs postgresql-client)");
        List<String> cmd = new ArrayList<>(List.of(psql, "-X", "-A", "-t"));
        for (String c : commands) {
            cmd.add("-c");
            cmd.add(c);
        }
        cmd.add(conninfo);
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", "alice-secret");
        pb.environment().put("PGCONNECT_TIMEOUT", "10");
        Process proc = pb.start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(proc.waitFor(60, TimeUnit.SECONDS), "psql finished");
        return new String[] {String.valueOf(proc.exitValue()), out};
    }

    @Test
    void underRequirePgjdbcAndPsqlVerifyFullAndPlainTextGetsSslRequired(@TempDir Path socketDir) throws Exception {
        try (Pgloom p = Pgloom.start("transaction", tlsSettings("require") + "unix_socket_dir = " + socketDir + "\nadmin_users = postgres\n")) {
            try (Connection c = p.connect(ssl("verify-full", certs.resolve("ca.crt")));
                    RawClient admin = new RawClient(socketDir.resolve(".s.PGSQL." + p.port())).login("postgres", "postgres", "pgbouncer")) {
                assertEquals("3", one(c, "SELECT 1 + 2"));
                // SHOW CLIENTS' tls column: protocol and cipher suite for the TLS client, empty for the console's.
                ConsoleResult clients = ConsoleResult.query(admin, "SHOW CLIENTS");
                assertTrue(clients.row("user", "alice").get("tls").startsWith("TLSv1.3/TLS_"), clients.rows().toString());
                assertEquals("", clients.row("user", "postgres").get("tls"));
            }
            // libpq checks the name too: localhost is in the certificate's subjectAltName.
            String[] r = psql("host=localhost port=" + p.port() + " dbname=app user=alice sslmode=verify-full sslrootcert="
                    + certs.resolve("ca.crt"), "SELECT 40 + 2", "\\conninfo");
            assertEquals("0", r[0], r[1]);
            assertTrue(r[1].contains("42") && r[1].contains("SSL connection (protocol: TLSv1.3"), r[1]);
            SQLException e = assertThrows(SQLException.class, () -> p.connect(ssl("disable", null)).close());
            assertEquals("08P01", e.getSQLState());
            assertTrue(e.getMessage().contains("SSL required"), e.getMessage());
            // The Unix socket is never encrypted, and require does not refuse it (as in PgBouncer).
            try (RawClient c = new RawClient(socketDir.resolve(".s.PGSQL." + p.port()))) {
                c.send(new MessageBuilder().int32(80877103).build());
                assertEquals('N', c.readByte());
                c.login("alice", "alice-secret", "app");
                assertEquals("1", RawClient.firstValue(c.simpleQuery("SELECT 1")));
            }
        }
    }

    @Test
    void underPreferPlainTextAndTlsBothWork() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", tlsSettings("prefer"))) {
            try (Connection plain = p.connect(ssl("disable", null)); Connection tls = p.connect(ssl("verify-full", certs.resolve("ca.crt")))) {
                assertEquals("1", one(plain, "SELECT 1"));
                assertEquals("2", one(tls, "SELECT 2"));
            }
        }
    }

    @Test
    void verifyFullDemandsAClientCertificateFromTheCa() throws Exception {
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
                Pgloom p = Pgloom.start("transaction", tlsSettings("verify-full"))) {
            String base = "host=localhost port=" + p.port() + " dbname=app user=alice sslmode=verify-full sslrootcert="
                    + certs.resolve("ca.crt");
            String[] ok = psql(base + " sslcert=" + certs.resolve("alice.crt") + " sslkey=" + certs.resolve("alice.key"), "SELECT 'in'");
            assertEquals("0", ok[0], ok[1]);
            assertTrue(ok[1].contains("in"), ok[1]);
            String[] none = psql(base + " sslcert=/nonexistent sslkey=/nonexistent", "SELECT 1");
            assertNotEquals("0", none[0], none[1]);
            // A certificate from another CA: refused during the handshake.
            DevCertificates other = DevCertificates.newCa("someone else's CA", Duration.ofDays(1));
            other.client("alice", Duration.ofDays(1)).write(certs, "stranger");
            String[] stranger = psql(base + " sslcert=" + certs.resolve("stranger.crt") + " sslkey=" + certs.resolve("stranger.key"),
                    "SELECT 1");
            assertNotEquals("0", stranger[0], stranger[1]);
            assertTrue(stranger[1].toLowerCase().contains("certificate") || stranger[1].contains("SSL"), stranger[1]);
            // An expired certificate from the right CA: refused too, and the log says why.
            dev.issue("alice", List.of(), java.time.Instant.now().minus(Duration.ofDays(3)), Duration.ofDays(1)).write(certs, "expired");
            String[] expired = psql(base + " sslcert=" + certs.resolve("expired.crt") + " sslkey=" + certs.resolve("expired.key"),
                    "SELECT 1");
            assertNotEquals("0", expired[0], expired[1]);
            log.await("for the expired certificate's refusal", l -> l.contains("closing because: TLS handshake failed:") && l.contains("validity check failed"));
            // pgloom keeps serving.
            String[] again = psql(base + " sslcert=" + certs.resolve("alice.crt") + " sslkey=" + certs.resolve("alice.key"), "SELECT 'still'");
            assertEquals("0", again[0], again[1]);
        }
    }

    @Test
    void garbageInsteadOfAClientHelloAndAStalledHandshakeCostOnlyTheirConnection() throws Exception {
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
                Pgloom p = Pgloom.start("transaction", tlsSettings("require") + "client_login_timeout = 2\n")) {
            try (RawClient stalled = new RawClient(p.port()); RawClient garbage = new RawClient(p.port())) {
                stalled.send(new MessageBuilder().int32(80877103).build());
                assertEquals('S', stalled.readByte());
                garbage.send(new MessageBuilder().int32(80877103).build());
                assertEquals('S', garbage.readByte());
                garbage.send("GET / HTTP/1.1\r\nHost: pgloom\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                garbage.setReadTimeout(10_000);
                assertTrue(garbage.closedByPeer(), "garbage in place of a ClientHello closes that connection");
                log.await("for the handshake failure", l -> l.contains("TLS handshake failed"));
                // Meanwhile the others are served.
                try (Connection c = p.connect(ssl("verify-full", certs.resolve("ca.crt")))) {
                    assertEquals("1", one(c, "SELECT 1"));
                }
                stalled.setReadTimeout(15_000);
                assertTrue(stalled.closedByPeer(), "a handshake that never starts ends at client_login_timeout");
            }
            try (Connection c = p.connect(ssl("require", null))) {
                assertEquals("1", one(c, "SELECT 1"));
            }
        }
    }

    @Test
    void reloadTakesNewFilesAndABrokenOneIsRefusedWhileTheOldKeepsServing() throws Exception {
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
                Pgloom p = Pgloom.start("transaction", tlsSettings("require") + "admin_users = postgres\n");
                RawClient plain = new RawClient(p.port())) {
            // Plain text to the admin console is refused too: require covers every TCP client.
            ErrorResponse refused = plain.send(RawClient.startupPacket(Map.of("user", "postgres", "database", "pgbouncer"))).readError();
            assertEquals("SSL required", refused.message());
            Connection kept = p.connect(ssl("verify-full", certs.resolve("ca.crt")));
            assertEquals("1", one(kept, "SELECT 1"));
            // A new CA and server certificate, in place: RELOAD takes them for the next handshake.
            DevCertificates next = DevCertificates.newCa("pgloom rotated CA", Duration.ofDays(1));
            Files.writeString(certs.resolve("ca2.crt"), next.ca().certificatePem());
            next.server("localhost", List.of("localhost", "127.0.0.1"), Duration.ofDays(1)).write(certs, "server");
            assertTrue(p.server.reload());
            try (Connection c = p.connect(ssl("verify-full", certs.resolve("ca2.crt")))) {
                assertEquals("2", one(c, "SELECT 2"));
            }
            assertThrows(SQLException.class, () -> p.connect(ssl("verify-full", certs.resolve("ca.crt"))).close(),
                    "the old CA no longer vouches for the new certificate");
            // The connected client was not dropped.
            assertEquals("3", one(kept, "SELECT 3"));
            // A broken key file: the rest of the RELOAD applies, as in PgBouncer, the error names the
            // file, and the running TLS keeps serving.
            Files.writeString(certs.resolve("server.key"), "not a key\n");
            assertTrue(p.server.reload());
            log.await("for the TLS reload error", l -> l.contains("reload: client TLS configuration could not be loaded, keeping the old one")
                    && l.contains("server.key"));
            // SET takes the value and answers PgBouncer's notice.
            assertEquals("TLS settings could not be applied, still using old configuration",
                    p.server.set("client_tls_cert_file", certs.resolve("missing.crt").toString()));
            log.await("for the SET error", l -> l.contains("SET client_tls_cert_file: client TLS configuration could not be loaded")
                    && l.contains("missing.crt: no such file"));
            try (Connection c = p.connect(ssl("verify-full", certs.resolve("ca2.crt")))) {
                assertEquals("4", one(c, "SELECT 4"));
            }
            kept.close();
        }
    }

    @Test
    void directTlsWithAlpnWorksAndWithoutItIsRefused() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", tlsSettings("require"))) {
            // pgjdbc's sslNegotiation=direct: a ClientHello first, ALPN "postgresql", no SSLRequest.
            Properties direct = ssl("verify-full", certs.resolve("ca.crt"));
            direct.setProperty("sslNegotiation", "direct");
            try (Connection c = p.connect(direct)) {
                assertEquals("1", one(c, "SELECT 1"));
            }
            javax.net.ssl.SSLContext ctx = clientContext();
            // A TLS client that offers no ALPN (an HTTPS client at the wrong port, say): encrypted, then refused.
            try (javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) ctx.getSocketFactory().createSocket("localhost", p.port())) {
                s.startHandshake();
                s.setSoTimeout(10_000);
                byte[] reply = s.getInputStream().readAllBytes();
                assertTrue(reply.length > 0 && reply[0] == 'E', "an ErrorResponse over TLS");
                String text = new String(reply, StandardCharsets.UTF_8);
                assertTrue(text.contains("direct SSL connection without ALPN protocol negotiation extension"), text);
            }
            // One that offers another protocol only: the handshake itself fails.
            try (javax.net.ssl.SSLSocket s = (javax.net.ssl.SSLSocket) ctx.getSocketFactory().createSocket("localhost", p.port())) {
                javax.net.ssl.SSLParameters params = s.getSSLParameters();
                params.setApplicationProtocols(new String[] {"http/1.1"});
                s.setSSLParameters(params);
                assertThrows(javax.net.ssl.SSLException.class, s::startHandshake);
            }
            // The SSLRequest path still works beside it.
            try (Connection c = p.connect(ssl("verify-full", certs.resolve("ca.crt")))) {
                assertEquals("2", one(c, "SELECT 2"));
            }
        }
        // Without client TLS a ClientHello gets a plain-text error that says what happened.
        try (Pgloom p = Pgloom.start("transaction", "");
                RawClient c = new RawClient(p.port())) {
            c.send(new byte[] {0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0x00, 0x00, 0x01, 0x00});
            ErrorResponse e = c.readError();
            assertTrue(e.message().startsWith("received direct TLS connection request without TLS support"), e.message());
        }
    }

    private javax.net.ssl.SSLContext clientContext() throws Exception {
        javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
                javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(io.pgloom.wire.tls.PemFiles.trustStore(certs.resolve("ca.crt")));
        javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    @Test
    void authTypeCertTakesTheUserFromTheCertificatesCn() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", tlsSettings("require") + "auth_type = cert\n")) {
            String base = "host=localhost port=" + p.port() + " dbname=app sslmode=verify-full sslrootcert=" + certs.resolve("ca.crt");
            String alice = " sslcert=" + certs.resolve("alice.crt") + " sslkey=" + certs.resolve("alice.key");
            String[] ok = psql(base + " user=alice" + alice, "SELECT current_user");
            assertEquals("0", ok[0], ok[1]);
            assertTrue(ok[1].contains("alice"), ok[1]);
            // CN=alice cannot log in as bob, and no certificate at all is refused in PostgreSQL's words.
            String[] asBob = psql(base + " user=bob" + alice, "SELECT 1");
            assertNotEquals("0", asBob[0], asBob[1]);
            assertTrue(asBob[1].contains("certificate authentication failed for user \"bob\""), asBob[1]);
            String[] none = psql(base + " user=alice sslcert=/nonexistent sslkey=/nonexistent", "SELECT 1");
            assertNotEquals("0", none[0], none[1]);
            assertTrue(none[1].contains("connection requires a valid client certificate"), none[1]);
        }
        // Without a CA nobody could log in: refused at start, as PgBouncer does.
        io.pgloom.config.ConfigException e = assertThrows(io.pgloom.config.ConfigException.class,
                () -> Pgloom.start("transaction", "auth_type = cert\n").close());
        assertTrue(e.getMessage().contains("auth_type = cert needs client TLS with a CA"), e.getMessage());
    }

    @Test
    void hbaCertRulesWithAnIdentMap() throws Exception {
        Path hba = certs.resolve("hba.conf");
        Path ident = certs.resolve("ident.conf");
        Files.writeString(hba, "hostssl all bob 127.0.0.1/32 cert map=m\nhostssl all postgres 127.0.0.1/32 cert map=m\n"
                + "hostssl all all 127.0.0.1/32 cert\n");
        Files.writeString(ident, "m alice bob\n");
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
                Pgloom p = Pgloom.start("transaction", tlsSettings("require") + "auth_type = hba\nauth_hba_file = " + hba
                        + "\nauth_ident_file = " + ident + "\n")) {
            String base = "host=localhost port=" + p.port() + " dbname=app sslmode=verify-full sslrootcert=" + certs.resolve("ca.crt")
                    + " sslcert=" + certs.resolve("alice.crt") + " sslkey=" + certs.resolve("alice.key");
            String[] asAlice = psql(base + " user=alice", "SELECT current_user");
            assertEquals("0", asAlice[0], asAlice[1]);
            String[] asBob = psql(base + " user=bob", "SELECT current_user");
            assertEquals("0", asBob[0], asBob[1]);
            assertTrue(asBob[1].contains("bob"), asBob[1]);
            String[] asPostgres = psql(base + " user=postgres", "SELECT 1");
            assertNotEquals("0", asPostgres[0], asPostgres[1]);
            assertTrue(asPostgres[1].contains("certificate authentication failed for user \"postgres\""), asPostgres[1]);
            log.await("for the map's refusal", l -> l.contains("ident map: m does not have a match for certificate CN \"alice\"")
                    && l.contains("hba rule"));
        }
    }

    @Test
    void hostsslRulesMatchEncryptedClientsAndHostnosslPlainOnes() throws Exception {
        Path hba = certs.resolve("hba.conf");
        Files.writeString(hba, "hostssl all all 127.0.0.1/32 md5\nhostnossl all all 127.0.0.1/32 reject\n");
        try (Pgloom p = Pgloom.start("transaction", tlsSettings("prefer") + "auth_type = hba\nauth_hba_file = " + hba + "\n")) {
            try (Connection c = p.connect(ssl("verify-full", certs.resolve("ca.crt")))) {
                assertEquals("1", one(c, "SELECT 1"));
            }
            SQLException e = assertThrows(SQLException.class, () -> p.connect(ssl("disable", null)).close());
            assertEquals("28000", e.getSQLState(), e.getMessage());
        }
    }

    @Test
    void tls13CiphersPickTheSuiteAndAnUnknownOneIsRefusedByName() throws Exception {
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
                Pgloom p = Pgloom.start("transaction", tlsSettings("require")
                        + "client_tls_protocols = tlsv1.3\nclient_tls13_ciphers = TLS_CHACHA20_POLY1305_SHA256\n")) {
            try (Connection c = p.connect(ssl("require", null))) {
                assertEquals("1", one(c, "SELECT 1"));
            }
            log.await("for the login line with the suite", l -> l.contains("login ok (transaction mode, tls=TLSv1.3/TLS_CHACHA20_POLY1305_SHA256)"));
            assertEquals(null, p.server.set("client_tls13_ciphers", "TLS_AES_256_GCM_SHA384"));
            try (Connection c = p.connect(ssl("require", null))) {
                assertEquals("2", one(c, "SELECT 2"));
            }
            log.await("for the new suite", l -> l.contains("tls=TLSv1.3/TLS_AES_256_GCM_SHA384"));
            assertEquals("TLS settings could not be applied, still using old configuration",
                    p.server.set("client_tls13_ciphers", "unknown"));
            log.await("for PgBouncer's words", l -> l.contains("failed to set the TLSv1.3 cipher suites") && l.contains("\"unknown\""));
            try (Connection c = p.connect(ssl("require", null))) {
                assertEquals("3", one(c, "SELECT 3"));
            }
        }
    }
}
