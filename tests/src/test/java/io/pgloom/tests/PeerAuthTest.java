package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgloom.wire.protocol.ErrorResponse;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Logins the OS vouches for, through real clients over the Unix socket: the admin console's
 * user pgbouncer of pgloom's own OS user (PgBouncer's rule), and auth_type peer. pgloom runs in
 * this JVM, so this process's OS user is pgloom's.
 */
class PeerAuthTest {
    private static final String ME = System.getProperty("user.name");

    private static Pgloom start(Path socketDir, String extra) throws Exception {
        return Pgloom.start("transaction", "unix_socket_dir = " + socketDir + "\n" + extra);
    }

    @Test
    void theConsoleLetsInUserPgbouncerOfPgloomsOwnOsUserWithoutPasswordAsAnAdmin(@TempDir Path dir) throws Exception {
        // Nobody is in admin_users: the OS user alone earns the admin rights.
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture(); Pgloom p = start(dir, "")) {
            try (RawClient c = new RawClient(dir.resolve(".s.PGSQL." + p.port())).login("pgbouncer", "not asked for", "pgbouncer")) {
                assertTrue(c.simpleQuery("PAUSE app").stream().noneMatch(m -> m.type() == 'E'), "PAUSE needs admin rights");
                assertTrue(c.simpleQuery("RESUME app").stream().noneMatch(m -> m.type() == 'E'));
            }
            log.await("for the console login naming why", l -> l.contains("pgbouncer@pgbouncer from unix:")
                    && l.contains("admin console login ok (admin rights, peer: same OS user as pgloom)"));
        }
    }

    @Test
    void overTcpUserPgbouncerIsAnOrdinaryUserAndIsRefused(@TempDir Path dir) throws Exception {
        try (Pgloom p = start(dir, "")) {
            RawClient.LoginFailed refused = assertThrows(RawClient.LoginFailed.class,
                    () -> new RawClient(p.port()).login("pgbouncer", "", "pgbouncer"));
            assertEquals(new ErrorResponse("FATAL", "28P01", "password authentication failed for user \"pgbouncer\"", null),
                    refused.error);
        }
    }

    /** The OS's word for another uid: psql run as user nobody, when psql is installed. */
    @Test
    void anotherOsUserAsPgbouncerOverTheSocketIsAnOrdinaryUserAndIsRefused(@TempDir Path dir) throws Exception {
        assumeTrue(onPath("psql"), "psql is not on PATH: cannot connect as another OS user");
        assumeTrue(onPath("runuser") && ME.equals("root"), "running a client as user nobody needs runuser and root");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        try (Pgloom p = start(dir, "")) {
            ProcessBuilder pb = new ProcessBuilder("runuser", "-u", "nobody", "--", "psql", "-X", "-h", dir.toString(),
                    "-p", String.valueOf(p.port()), "-U", "pgbouncer", "-d", "pgbouncer", "-c", "SHOW VERSION");
            pb.environment().put("PGPASSWORD", "guessed");
            pb.redirectErrorStream(true);
            Process psql = pb.start();
            assertTrue(psql.waitFor(30, TimeUnit.SECONDS), "psql did not finish");
            String output = new String(psql.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertNotEquals(0, psql.exitValue(), output);
            assertTrue(output.contains("password authentication failed for user \"pgbouncer\""), output);
        }
    }

    @Test
    void authTypePeerLetsInTheClientsOwnOsUserOverTheSocketOnly(@TempDir Path dir) throws Exception {
        String userlist = Pgloom.defaultUserlist() + "\"" + ME + "\" \"unused\"\n";
        String ini = Pgloom.iniText("transaction", "unix_socket_dir = " + dir + "\nauth_type = peer\nadmin_users = " + ME + "\n", "");
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture(); Pgloom p = Pgloom.startWith(ini, userlist)) {
            Path socket = dir.resolve(".s.PGSQL." + p.port());
            try (RawClient c = new RawClient(socket).login(ME, "not asked for", "pgbouncer")) {
                assertTrue(c.simpleQuery("SHOW LISTS").stream().noneMatch(m -> m.type() == 'E'));
            }
            for (String other : List.of("alice", "carol")) { // in auth_file, and unknown
                RawClient.LoginFailed refused = assertThrows(RawClient.LoginFailed.class,
                        () -> new RawClient(socket).login(other, "alice-secret", "app"));
                assertEquals(new ErrorResponse("FATAL", "28000", "Peer authentication failed for user \"" + other + "\"", null),
                        refused.error);
            }
            log.await("for the refusal's reason", l -> l.contains("alice@app from unix:")
                    && l.contains("(auth_type peer: the client's OS user is \"" + ME + "\")"));
            // Over TCP nobody can tell which OS user connected: refused, never a password instead.
            RawClient.LoginFailed overTcp = assertThrows(RawClient.LoginFailed.class,
                    () -> new RawClient(p.port()).login(ME, "unused", "pgbouncer"));
            assertEquals("Peer authentication failed for user \"" + ME + "\"", overTcp.error.message());
            assertEquals("28000", overTcp.error.sqlState());
        }
    }

    private static boolean onPath(String program) {
        String path = System.getenv("PATH");
        return path != null && List.of(path.split(File.pathSeparator)).stream()
                .anyMatch(d -> Files.isExecutable(Path.of(d, program)));
    }
}
