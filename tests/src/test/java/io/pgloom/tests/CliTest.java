package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.server.cli.PgloomCommand;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `pgloom check`, `--version` and `--help`, as a user runs them. */
class CliTest {

    private record Run(int exit, String out, String err) {
    }

    private static Run run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        System.setOut(new PrintStream(out, true));
        System.setErr(new PrintStream(err, true));
        try {
            int exit = new CommandLine(new PgloomCommand()).execute(args);
            return new Run(exit, out.toString(), err.toString());
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void checkPrintsEffectiveSettingsAndWarnings(@TempDir Path dir) throws Exception {
        Path ini = dir.resolve("pgbouncer.ini");
        Files.writeString(ini, """
                [databases]
                app = host=127.0.0.1 port=5432
                [pgbouncer]
                listen_port = 6543
                pool_mode = transaction
                auth_ldap_options = base=dc=example
                """);
        Run r = run("check", ini.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("app -> 127.0.0.1:5432/app"), r.out());
        assertTrue(r.out().matches("(?s).*\\*  listen_port\\s+= 6543.*"), r.out());
        assertTrue(r.out().contains("auth_ldap_options"), r.out());
        assertTrue(r.out().contains("warning: ") && r.out().contains(":6: "), "the unsupported setting is named with its line: " + r.out());
    }

    @Test
    void checkRefusesABrokenFileWithFileAndLine(@TempDir Path dir) throws Exception {
        Path ini = dir.resolve("pgbouncer.ini");
        Files.writeString(ini, "[pgbouncer]\nlisten_port = 6543\ndefault_pool_size = lots\n");
        Run r = run("check", ini.toString());
        assertEquals(1, r.exit());
        assertTrue(r.err().contains("pgbouncer.ini:3"), r.err());
        assertTrue(r.err().contains("default_pool_size"), r.err());
    }

    @Test
    void versionAndHelpSayWhatPgloomIs() {
        Run v = run("--version");
        assertEquals(0, v.exit());
        assertTrue(v.out().startsWith("PgBouncer 1.25.2 (pgloom "), "SHOW VERSION's line first, as PgBouncer: " + v.out());
        assertTrue(v.out().lines().skip(1).findFirst().orElse("").startsWith("pgloom "), v.out());
        Run h = run("--help");
        assertEquals(0, h.exit());
        assertTrue(h.out().contains("demo") && h.out().contains("check") && h.out().contains("pgbouncer.ini"), h.out());
    }

    @Test
    void pgbouncersShortFlagsAreThereAtTheTopAndOnRun() {
        Run v = run("-V");
        assertEquals(0, v.exit());
        assertTrue(v.out().startsWith("PgBouncer 1.25.2 (pgloom "), "SHOW VERSION's line first, as PgBouncer: " + v.out());
        assertTrue(v.out().lines().skip(1).findFirst().orElse("").startsWith("pgloom "), v.out());
        for (String[] help : new String[][] {{"-h"}, {"run", "--help"}}) {
            Run h = run(help);
            assertEquals(0, h.exit(), h.err());
            for (String flag : new String[] {"-d, --daemon", "-q, --quiet", "-v, --verbose", "-u, --user", "-R, --reboot"}) {
                assertTrue(h.out().contains(flag), String.join(" ", help) + " lists " + flag + ":\n" + h.out());
            }
        }
    }

    @Test
    void certDevWritesACaAndCertificatesThatLoadAndRefusesToOverwriteKeys(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("certs");
        Run r = run("cert", "dev", "--out", out.toString(), "--hosts", "db.example,10.1.2.3", "--user", "alice");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("client_tls_cert_file = " + out.toAbsolutePath().resolve("server.crt")), r.out());
        for (String key : List.of("ca.key", "server.key", "client.key")) {
            assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(out.resolve(key))), key);
        }
        // The pair loads as pgloom loads it (the key belongs to the certificate), and names its hosts.
        io.pgloom.wire.tls.PemFiles.keyStore(out.resolve("server.crt"), out.resolve("server.key"));
        java.security.cert.X509Certificate server = io.pgloom.wire.tls.PemFiles.certificates(out.resolve("server.crt")).getFirst();
        assertEquals(List.of("db.example", "10.1.2.3"), server.getSubjectAlternativeNames().stream().map(n -> String.valueOf(n.get(1))).toList());
        java.security.cert.X509Certificate ca = io.pgloom.wire.tls.PemFiles.certificates(out.resolve("ca.crt")).getFirst();
        server.verify(ca.getPublicKey());
        assertEquals("CN=alice", io.pgloom.wire.tls.PemFiles.certificates(out.resolve("client.crt")).getFirst()
                .getSubjectX500Principal().getName());
        Run again = run("cert", "dev", "--out", out.toString());
        assertEquals(1, again.exit());
        assertTrue(again.err().contains("exists; pgloom does not overwrite keys"), again.err());
    }

    private static Run runWithStdin(String stdin, String... args) {
        java.io.InputStream old = System.in;
        System.setIn(new java.io.ByteArrayInputStream(stdin.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        try {
            return run(args);
        } finally {
            System.setIn(old);
        }
    }

    @Test
    void userlistAddWritesSecretsPgloomAcceptsAndReplacesAnEntryKeepingTheRest(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("userlist.txt");
        Run added = runWithStdin("s3cret \"quoted\"\n", "userlist", "add", "alice", "--file", file.toString());
        assertEquals(0, added.exit(), added.err());
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertTrue(Files.readString(file).startsWith("\"alice\" \"SCRAM-SHA-256$4096:"), Files.readString(file));
        Files.writeString(file, "; kept comment\n" + Files.readString(file) + "\"postgres\" \"postgres\"\n");
        assertEquals(0, runWithStdin("bob-pass\n", "userlist", "add", "bob", "--md5", "--file", file.toString()).exit());
        Run replaced = runWithStdin("new-alice\n", "userlist", "add", "alice", "--iterations", "1000", "--file", file.toString());
        assertEquals(0, replaced.exit(), replaced.err());
        assertTrue(replaced.out().contains("replaced alice"), replaced.out());
        List<String> lines = Files.readAllLines(file);
        assertEquals(4, lines.size(), lines.toString());
        assertEquals("; kept comment", lines.get(0));
        assertTrue(lines.get(1).startsWith("\"alice\" \"SCRAM-SHA-256$1000:"), lines.toString());
        assertEquals("\"bob\" \"" + io.pgloom.wire.auth.Md5Password.hash("bob", "bob-pass") + "\"", lines.get(3));
        assertEquals(1, runWithStdin("", "userlist", "add", "carol", "--file", file.toString()).exit(), "no password: nothing written");
        assertEquals(4, Files.readAllLines(file).size());
        // The secrets log in through pgloom: SCRAM for alice, md5 for bob (to a database that logs
        // in to PostgreSQL as postgres, whose password the file keeps in plain text).
        TestPostgres.Endpoint pg = TestPostgres.shared();
        String forced = "as_postgres = host=" + pg.host() + " port=" + pg.port() + " dbname=app user=postgres\n";
        try (Pgloom p = Pgloom.startWith(Pgloom.iniText("transaction", "", forced), Files.readString(file));
                RawClient alice = new RawClient(p.port()).login("alice", "new-alice", "as_postgres")) {
            assertEquals("1", RawClient.firstValue(alice.simpleQuery("SELECT 1")));
        }
        try (Pgloom p = Pgloom.startWith(Pgloom.iniText("transaction", "auth_type = md5\n", forced), Files.readString(file));
                RawClient bob = new RawClient(p.port()).login("bob", "bob-pass", "as_postgres")) {
            assertEquals("1", RawClient.firstValue(bob.simpleQuery("SELECT 1")));
        }
    }

    @Test
    void userlistFromPostgresCopiesPgAuthidSecretsThatLogInThroughPgloom(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("userlist.txt");
        Files.writeString(file, "; kept\n\"alice\" \"stale\"\n");
        TestPostgres.Endpoint pg = TestPostgres.shared();
        String conn = "host=" + pg.host() + " port=" + pg.port() + " user=postgres password=" + TestPostgres.SUPERUSER_PASSWORD
                + " dbname=postgres sslmode=disable";
        Run r = run("userlist", "from-postgres", conn, "--file", file.toString(), "--role", "alice,bob,nosuch");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("wrote 2 entries") && r.out().contains("nosuch (no such login role"), r.out());
        List<String> lines = Files.readAllLines(file);
        assertEquals(3, lines.size(), lines.toString());
        assertEquals("; kept", lines.get(0));
        assertTrue(lines.get(1).startsWith("\"alice\" \"SCRAM-SHA-256$4096:"), lines.toString());
        assertTrue(lines.get(2).startsWith("\"bob\" \"SCRAM-SHA-256$"), lines.toString());
        // PostgreSQL's own secret logs alice in through pgloom, and pgloom on to PostgreSQL with the
        // keys her SCRAM login yields: no password is stored anywhere.
        try (Pgloom p = Pgloom.startWith(Pgloom.iniText("transaction", "", ""), Files.readString(file));
                RawClient alice = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            assertEquals("alice", RawClient.firstValue(alice.simpleQuery("SELECT current_user")));
        }
        // A wrong password in CONNSTR: PostgreSQL's refusal, and the file is left alone.
        Run refused = run("userlist", "from-postgres", conn.replace("password=" + TestPostgres.SUPERUSER_PASSWORD, "password=wrong"),
                "--file", file.toString());
        assertEquals(1, refused.exit());
        assertTrue(refused.err().contains("PostgreSQL refused: password authentication failed"), refused.err());
        assertEquals(lines, Files.readAllLines(file));
    }
}
