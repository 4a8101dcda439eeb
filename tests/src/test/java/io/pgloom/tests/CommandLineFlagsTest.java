package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.sun.security.auth.module.UnixSystem;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * PgBouncer's command-line flags ({@code -d -R -q -v -u -V}) on a pgloom process, as an init
 * script or a unit file written for {@code pgbouncer} passes them. Each refusal is checked with
 * its message and exit status, each accepted flag by what it does to the running process.
 */
class CommandLineFlagsTest {
    private static final Duration START = Duration.ofSeconds(60);
    private static final Duration EXIT = Duration.ofSeconds(120);
    /** pgloom exits 0 after a shutdown that SIGTERM or SIGINT asked for, as PgBouncer does. */
    private static final int EXIT_SIGTERM = 0;
    private static final int EXIT_SIGINT = 0;

    private final List<PgloomProcess> processes = new ArrayList<>();
    /** Daemons started with -d: no longer children of a test's process once it returned. */
    private final List<Long> daemons = new ArrayList<>();

    @AfterEach
    void killWhatIsLeft() throws Exception {
        for (PgloomProcess p : processes) {
            p.close();
        }
        for (long pid : daemons) {
            ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    private PgloomProcess start(String name, String... args) throws IOException {
        PgloomProcess p = PgloomProcess.start(name, args);
        processes.add(p);
        return p;
    }

    /** A config on the shared PostgreSQL with a fixed port, and a pidfile and a logfile in {@code dir}. */
    private static Path config(Path dir, int port, String more) throws IOException {
        String settings = "listen_port = " + port + "\n"
                + "pidfile = " + dir.resolve("pgloom.pid") + "\n"
                + "logfile = " + dir.resolve("pgloom.log") + "\n" + more;
        return Pgloom.writeConfig(dir, Pgloom.iniText("transaction", settings, ""), Pgloom.defaultUserlist());
    }

    /** Polls {@code file} until {@code pattern} is found in it; fails with the process's output. */
    private static void awaitInFile(Path file, Pattern pattern, PgloomProcess p) throws Exception {
        long end = System.nanoTime() + START.toNanos();
        while (!(Files.exists(file) && pattern.matcher(Files.readString(file)).find())) {
            assertTrue(System.nanoTime() < end, "/" + pattern + "/ not in " + file + " within " + START.toSeconds()
                    + " s:\n" + (Files.exists(file) ? Files.readString(file) : "(no file)") + p.output());
            Thread.sleep(50);
        }
    }

    /** No line as logback writes them (a JVM's own warnings may be there: they are not pgloom's logging). */
    private static void assertNoLogLines(Path stderr, PgloomProcess p) throws IOException {
        assertFalse(Pattern.compile("(?m)^\\S+ \\d\\d:\\d\\d:\\d\\d\\.\\d{3} |^\\d\\d:\\d\\d:\\d\\d\\.\\d{3} ")
                .matcher(Files.readString(stderr)).find(), "no logging on stderr" + p.output());
    }

    private static String currentDatabase(int port) throws SQLException {
        try (Connection c = Pgloom.connect(port, "app", "alice", "alice-secret");
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT current_database()")) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }

    // ------------------------------------------------------------------------------ -q and -v

    @Test
    void quietLogsNothingToStderrAndEverythingToTheLogfile(@TempDir Path dir) throws Exception {
        int port = PgloomProcess.freePort();
        Path ini = config(dir, port, "");
        PgloomProcess pgloom = start("quiet", "--quiet", ini.toString());
        awaitInFile(dir.resolve("pgloom.log"), Pattern.compile("pgloom running with"), pgloom);
        assertEquals("app", currentDatabase(port));
        pgloom.signal("INT");
        assertEquals(EXIT_SIGINT, pgloom.awaitExit(EXIT), pgloom.output());
        assertTrue(Files.readString(dir.resolve("pgloom.log")).contains("shutting down"), "the logfile has it all");
        assertNoLogLines(pgloom.stderr, pgloom);
    }

    @Test
    void verboseOnceLogsDebugAndAReloadDoesNotLowerIt(@TempDir Path dir) throws Exception {
        int port = PgloomProcess.freePort();
        Path ini = config(dir, port, "verbose = 0\n");
        Path log = dir.resolve("pgloom.log");
        PgloomProcess pgloom = start("verbose", "run", "-q", "-v", ini.toString());
        awaitInFile(log, Pattern.compile("pgloom running with"), pgloom);
        awaitInFile(log, Pattern.compile("DEBUG LogSetup: log level DEBUG \\(verbose = 0, -v given 1 times\\)"), pgloom);
        pgloom.signal("HUP");
        awaitInFile(log, Pattern.compile("(?s)reloaded .*"), pgloom);
        assertEquals(2, Pattern.compile("log level DEBUG").matcher(Files.readString(log)).results().count(),
                "still DEBUG after the reload of verbose = 0:\n" + Files.readString(log));
        assertFalse(Files.readString(log).contains("TRACE"), "one -v is debug, not trace");
        pgloom.process.destroy();
        assertEquals(EXIT_SIGTERM, pgloom.awaitExit(EXIT), pgloom.output());
    }

    @Test
    void verboseTwiceLogsTrace(@TempDir Path dir) throws Exception {
        int port = PgloomProcess.freePort();
        Path ini = config(dir, port, "max_prepared_statements = 10\n");
        Path log = dir.resolve("pgloom.log");
        PgloomProcess pgloom = start("verbose2", "-vv", ini.toString());
        awaitInFile(log, Pattern.compile("pgloom running with"), pgloom);
        awaitInFile(log, Pattern.compile("log level TRACE"), pgloom);
        Properties props = new Properties();
        props.setProperty("user", "alice");
        props.setProperty("password", "alice-secret");
        props.setProperty("prepareThreshold", "1"); // a named statement on its first execution
        try (Connection c = java.sql.DriverManager.getConnection(Pgloom.jdbcUrl(port, "app"), props);
                PreparedStatement ps = c.prepareStatement("SELECT ?::int + 1")) {
            ps.setInt(1, 41);
            try (ResultSet rs = ps.executeQuery()) {
                assertTrue(rs.next());
                assertEquals(42, rs.getInt(1));
            }
        }
        awaitInFile(log, Pattern.compile("TRACE PreparedStatements: .*Parse "), pgloom);
        pgloom.signal("INT");
        assertEquals(EXIT_SIGINT, pgloom.awaitExit(EXIT), pgloom.output());
    }

    // ------------------------------------------------------------------------------ -V and -R

    @Test
    void versionPrintsPgloomAndItsVersion() throws Exception {
        PgloomProcess v = start("version", "-V");
        assertEquals(0, v.awaitExit(EXIT), v.output());
        assertTrue(v.stdoutText().startsWith("PgBouncer 1.25.2 (pgloom "), "SHOW VERSION's line first" + v.output());
        assertTrue(v.stdoutText().contains("\npgloom "), v.output());
    }

    @Test
    void rebootIsRefusedWithTheWayToRestartInstead(@TempDir Path dir) throws Exception {
        Path ini = config(dir, PgloomProcess.freePort(), "");
        PgloomProcess pgloom = start("reboot", "-R", ini.toString());
        assertEquals(1, pgloom.awaitExit(EXIT), pgloom.output());
        pgloom.await(Pattern.compile("-R \\(online restart\\) is not supported.*so_reuseport rolling restarts"), Duration.ZERO);
        assertFalse(Files.exists(dir.resolve("pgloom.pid")), "nothing started" + pgloom.output());
    }

    // ------------------------------------------------------------------------------------- -d

    @Test
    void daemonReturnsOnceListeningServesAndStopsOnSigtermToItsPidfile(@TempDir Path dir) throws Exception {
        int port = PgloomProcess.freePort();
        Path ini = config(dir, port, "");
        Path pidfile = dir.resolve("pgloom.pid");
        PgloomProcess starter = start("daemon", "-d", ini.toString());
        assertEquals(0, starter.awaitExit(EXIT), "-d returns once the daemon listens" + starter.output());
        long pid = Long.parseLong(Files.readString(pidfile).strip());
        daemons.add(pid);
        assertNotEquals(starter.pid(), pid, "the daemon is another process");
        ProcessHandle daemon = ProcessHandle.of(pid).orElseThrow(() -> new AssertionError("daemon " + pid + " is gone"));
        assertEquals("app", currentDatabase(port), "the daemon serves");
        assertEquals(pid, sessionOf(pid), "the daemon leads its own session: a closed terminal does not hang it up");
        assertNoLogLines(starter.stderr, starter);

        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy); // SIGTERM
        daemon.onExit().get(EXIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        assertFalse(Files.exists(pidfile), "the daemon removes its pidfile:\n" + Files.readString(dir.resolve("pgloom.log")));
        assertTrue(Files.readString(dir.resolve("pgloom.log")).contains("pgloom stopped")
                || Files.readString(dir.resolve("pgloom.log")).contains("shutting down"), Files.readString(dir.resolve("pgloom.log")));
    }

    /** The session id, field 6 of /proc/PID/stat (after the command name in parentheses). */
    private static long sessionOf(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(fields[3]);
    }

    @Test
    void daemonWithoutLogfileIsRefused(@TempDir Path dir) throws Exception {
        Path ini = Pgloom.writeConfig(dir, Pgloom.iniText("transaction", "listen_port = " + PgloomProcess.freePort()
                + "\npidfile = " + dir.resolve("pgloom.pid") + "\n", ""), Pgloom.defaultUserlist());
        PgloomProcess pgloom = start("daemon-nolog", "-d", ini.toString());
        assertEquals(1, pgloom.awaitExit(EXIT), pgloom.output());
        pgloom.await(Pattern.compile("-d needs logfile set in " + Pattern.quote(ini.toString())), Duration.ZERO);
        assertFalse(Files.exists(dir.resolve("pgloom.pid")), "no daemon started" + pgloom.output());
    }

    @Test
    void daemonThatCannotListenIsReportedWithItsLog(@TempDir Path dir) throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            Path ini = config(dir, taken.getLocalPort(), "");
            PgloomProcess pgloom = start("daemon-busy", "-d", ini.toString());
            assertEquals(1, pgloom.awaitExit(EXIT), pgloom.output());
            pgloom.await(Pattern.compile("(?s)the daemon exited with status 1 before it listened.*could not start: .*"),
                    Duration.ZERO);
        }
    }

    // ------------------------------------------------------------------------------------- -u

    private static boolean root() {
        return new UnixSystem().getUid() == 0;
    }

    @Test
    void userRunsPgloomAsThatUser(@TempDir Path dir) throws Exception {
        assumeTrue(root(), "only root can switch users");
        // The user must read the config and write the pidfile and the logfile there.
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        int port = PgloomProcess.freePort();
        Path ini = config(dir, port, "");
        Path pidfile = dir.resolve("pgloom.pid");
        PgloomProcess pgloom = start("user", "-u", "nobody", "-q", ini.toString());
        awaitInFile(dir.resolve("pgloom.log"), Pattern.compile("pgloom running with"), pgloom);
        long pid = Long.parseLong(Files.readString(pidfile).strip());
        assertTrue(Files.readString(Path.of("/proc/" + pid + "/status")).matches("(?s).*\nUid:\\s+65534\\s.*"),
                "pgloom runs as nobody" + pgloom.output());
        assertEquals("nobody", Files.getOwner(pidfile).getName());
        assertEquals("app", currentDatabase(port));
        pgloom.process.destroy(); // SIGTERM to the process that was started: passed on to the one that serves
        assertEquals(EXIT_SIGTERM, pgloom.awaitExit(EXIT), pgloom.output());
        assertFalse(Files.exists(pidfile), "pidfile removed" + pgloom.output());
    }

    @Test
    void unknownUserIsRefused(@TempDir Path dir) throws Exception {
        Path ini = config(dir, PgloomProcess.freePort(), "");
        PgloomProcess pgloom = start("user-unknown", "--user", "no-such-user-pgloom", ini.toString());
        assertEquals(1, pgloom.awaitExit(EXIT), pgloom.output());
        pgloom.await(Pattern.compile(root() ? "-u no-such-user-pgloom: no such user"
                : "-u no-such-user-pgloom: pgloom runs as .*only root can switch"), Duration.ZERO);
    }

    @Test
    void anotherUserIsRefusedToAnyoneButRoot(@TempDir Path dir) throws Exception {
        assumeTrue(root(), "the test becomes nobody through setpriv, which needs root");
        // nobody can read the packaged jar, not the test class path in root's ~/.m2
        assumeTrue(PgloomProcess.packagedJarIsCurrent(), "server/target/pgloom.jar is not current (mvn verify packages it)");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path ini = config(dir, PgloomProcess.freePort(), "");
        PgloomProcess pgloom = PgloomProcess.startUnder(
                List.of("setpriv", "--reuid=nobody", "--regid=65534", "--clear-groups", "--"),
                "user-not-root", "-u", "root", ini.toString());
        processes.add(pgloom);
        assertEquals(1, pgloom.awaitExit(EXIT), pgloom.output());
        pgloom.await(Pattern.compile("-u root: pgloom runs as nobody, and only root can switch to another user"), Duration.ZERO);
    }

    @Test
    void userWhoCannotReadTheConfigIsToldSo(@TempDir Path dir) throws Exception {
        assumeTrue(root(), "only root can switch users");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        Path ini = config(dir, PgloomProcess.freePort(), "");
        PgloomProcess pgloom = start("user-unreadable", "-u", "nobody", ini.toString());
        assertEquals(1, pgloom.awaitExit(EXIT), pgloom.output());
        pgloom.await(Pattern.compile("-u nobody: user nobody cannot read " + Pattern.quote(ini.toString())
                + " \\(check the permissions"), Duration.ZERO);
    }

    @Test
    void theCurrentUserGoesOn(@TempDir Path dir) throws Exception {
        int port = PgloomProcess.freePort();
        Path ini = config(dir, port, "");
        PgloomProcess pgloom = start("user-self", "-u", System.getProperty("user.name"), ini.toString());
        awaitInFile(dir.resolve("pgloom.log"), Pattern.compile("pgloom running with"), pgloom);
        assertEquals(Long.toString(pgloom.pid()), Files.readString(dir.resolve("pgloom.pid")).strip(),
                "no second process for the user pgloom already is");
        pgloom.signal("INT");
        assertEquals(EXIT_SIGINT, pgloom.awaitExit(EXIT), pgloom.output());
    }
}
