package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * pgloom as a user runs it: a separate operating-system process ({@link PgloomProcess}), talked to
 * over TCP and with signals. Deadlines are generous (a loaded 2-core machine; the first demo may
 * unpack the PostgreSQL binaries, which are then cached in {@code java.io.tmpdir}), and every wait
 * polls. A failure message carries the process's command line, stdout and stderr.
 */
class ProcessTest {
    /** The JVM's exit status after a shutdown that SIGTERM started: 128 + 15. */
    private static final int EXIT_SIGTERM = 143;
    /** After SIGINT (Ctrl-C): 128 + 2. */
    private static final int EXIT_SIGINT = 130;
    private static final Duration DEMO_START = Duration.ofSeconds(120);
    private static final Duration START = Duration.ofSeconds(60);
    private static final Duration EXIT = Duration.ofSeconds(120);

    private final List<PgloomProcess> processes = new ArrayList<>();
    private final List<Path> leftovers = new ArrayList<>();

    @AfterEach
    void killWhatIsLeft() throws Exception {
        for (PgloomProcess p : processes) {
            p.close();
        }
        for (Path dir : leftovers) {
            deleteTree(dir); // only after a failure: on success the process removed it itself
        }
    }

    private PgloomProcess start(String name, String... args) throws IOException {
        PgloomProcess p = PgloomProcess.start(name, args);
        processes.add(p);
        return p;
    }

    // ------------------------------------------------------------------------------------- demo

    @Test
    void demoServesTheClientsItPrintsAndLeavesNothingBehindOnSigterm() throws Exception {
        int port = PgloomProcess.freePort();
        PgloomProcess demo = start("demo", "demo", "--port", Integer.toString(port));
        Matcher ready = demo.await(Pattern.compile("^Press Ctrl-C .* and remove (\\S+)\\.$", Pattern.MULTILINE), DEMO_START);
        Path demoDir = Path.of(ready.group(1));
        leftovers.add(demoDir);
        String printed = demo.stdoutText();
        String jdbcUrl = printedLine(printed, "JDBC", demo);
        String psqlCommand = printedLine(printed, "psql", demo);
        Matcher pgPort = Pattern.compile("PostgreSQL \\S+ runs on port (\\d+)").matcher(printed);
        assertTrue(pgPort.find(), "the demo names PostgreSQL's port" + demo.output());
        assertTrue(Files.isDirectory(demoDir), "the demo's directory exists while it runs" + demo.output());

        List<ProcessHandle> tree = demo.descendants();
        Path dataDir = postgresDataDirectory(tree, demo);
        leftovers.add(dataDir.getParent());
        assertTrue(Files.isDirectory(dataDir), dataDir + demo.output());

        Properties timeouts = new Properties();
        timeouts.setProperty("connectTimeout", "30");
        timeouts.setProperty("socketTimeout", "60");
        try (Connection c = DriverManager.getConnection(jdbcUrl, timeouts);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT current_user, current_database(), 6 * 7")) {
            assertTrue(rs.next());
            assertEquals("demo", rs.getString(1));
            assertEquals("demo", rs.getString(2));
            assertEquals(42, rs.getInt(3));
        }
        demo.descendants(); // remember the server backend the pool opened for us

        Path psql = onPath("psql");
        if (psql != null) {
            String answer = runShell(psqlCommand, "SELECT 6 * 7 AS answer;\n", demo);
            assertTrue(answer.matches("(?s).*\\banswer\\b.*\\b42\\b.*"), "psql printed the answer:\n" + answer);
        }

        demo.process.destroy(); // SIGTERM
        int exit = demo.awaitExit(EXIT);
        assertEquals(EXIT_SIGTERM, exit, "exit status after SIGTERM" + demo.output());
        List<ProcessHandle> left = demo.remainingDescendants(Duration.ofSeconds(30));
        assertEquals(List.of(), left.stream().map(ProcessTest::describe).toList(),
                "no process of the demo outlives it" + demo.output());
        assertFalse(Files.exists(demoDir), demoDir + " removed" + demo.output());
        assertFalse(Files.exists(dataDir.getParent()), "PostgreSQL's directory " + dataDir.getParent() + " removed" + demo.output());
        assertNobodyListens(port, demo);
        assertNobodyListens(Integer.parseInt(pgPort.group(1)), demo);
        assumeTrue(psql != null, "psql is not on PATH: the demo's psql command line was not tried"
                + " (everything else was checked; install postgresql-client to run it too)");
    }

    /** The command the demo printed after {@code label:}, e.g. {@code JDBC:    jdbc:postgresql://...}. */
    private static String printedLine(String printed, String label, PgloomProcess demo) {
        Matcher m = Pattern.compile("^\\s*" + label + ":\\s+(.+?)\\s*$", Pattern.MULTILINE).matcher(printed);
        assertTrue(m.find(), "the demo prints a " + label + " line" + demo.output());
        return m.group(1);
    }

    /** The {@code -D} argument of the postmaster among the demo's descendants. */
    private static Path postgresDataDirectory(List<ProcessHandle> tree, PgloomProcess demo) {
        for (ProcessHandle h : tree) {
            String[] args = h.info().arguments().orElse(new String[0]);
            for (int i = 0; i + 1 < args.length; i++) {
                if (args[i].equals("-D") && h.info().command().orElse("").endsWith("postgres")) {
                    return Path.of(args[i + 1]);
                }
            }
        }
        throw new AssertionError("no postgres -D DIR among the demo's processes: "
                + tree.stream().map(ProcessTest::describe).collect(Collectors.joining("; ")) + demo.output());
    }

    private static String describe(ProcessHandle h) {
        return h.pid() + " " + h.info().commandLine().orElse("?");
    }

    private static Path onPath(String program) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(dir.isEmpty() ? "." : dir, program);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /** Runs {@code commandLine} exactly as printed, through sh, with {@code input} on stdin. */
    private static String runShell(String commandLine, String input, PgloomProcess demo) throws Exception {
        Process p = new ProcessBuilder("/bin/sh", "-c", commandLine).redirectErrorStream(true).start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(input.getBytes(StandardCharsets.UTF_8));
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("`" + commandLine + "` did not finish within 60 s:\n" + out + demo.output());
        }
        assertEquals(0, p.exitValue(), "`" + commandLine + "` failed:\n" + out + demo.output());
        return out;
    }

    private static void assertNobodyListens(int port, PgloomProcess p) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            throw new AssertionError("something still listens on port " + port + p.output());
        } catch (ConnectException expected) {
            // refused: nobody listens
        } catch (IOException e) {
            throw new AssertionError("unexpected " + e + p.output(), e);
        }
    }

    // -------------------------------------------------------------------------------------- run

    /** Settings for a pgloom process: a port fixed in advance, a pidfile and a logfile in {@code dir}. */
    private static String processSettings(Path dir, int port) {
        return "listen_port = " + port + "\n"
                + "pidfile = " + dir.resolve("pgloom.pid") + "\n"
                + "logfile = " + dir.resolve("pgloom.log") + "\n";
    }

    private static Connection connect(int port, String database) throws SQLException {
        return Pgloom.connect(port, database, "alice", "alice-secret");
    }

    /** The database the server behind {@code c} is in: proves a query made the round trip. */
    private static String currentDatabase(Connection c) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_database()")) {
            assertTrue(rs.next());
            return rs.getString(1);
        }
    }

    @Test
    void runReloadsOnSighupRefusesABrokenFileAndStopsOnSigterm(@TempDir Path dir) throws Exception {
        int port = PgloomProcess.freePort();
        String settings = processSettings(dir, port);
        TestPostgres.Endpoint pg = TestPostgres.shared();
        String app2 = "app2 = host=" + pg.host() + " port=" + pg.port() + " dbname=app\n";
        Path ini = Pgloom.writeConfig(dir, Pgloom.iniText("transaction", settings, ""), Pgloom.defaultUserlist());
        Path pidfile = dir.resolve("pgloom.pid");
        Path logfile = dir.resolve("pgloom.log");
        PgloomProcess pgloom = start("run", "run", ini.toString());
        pgloom.await(Pattern.compile("pgloom running with"), START);
        assertEquals(Long.toString(pgloom.pid()), Files.readString(pidfile).strip(), "pidfile" + pgloom.output());

        try (Connection existing = connect(port, "app")) {
            assertEquals("app", currentDatabase(existing));
            SQLException unknown = assertThrows(SQLException.class, () -> connect(port, "app2").close());
            assertEquals("3D000", unknown.getSQLState(), "app2 is not configured yet: " + unknown);

            // A good change: a second alias for the same database.
            Pgloom.writeConfig(dir, Pgloom.iniText("transaction", settings, app2), Pgloom.defaultUserlist());
            pgloom.signal("HUP");
            pgloom.await(Pattern.compile("reloaded " + Pattern.quote(ini.toString())), START);
            try (Connection c = connect(port, "app2")) {
                assertEquals("app", currentDatabase(c), "app2 leads to database app");
            }

            // A broken file that also drops app2: were any of it applied, app2 would be gone.
            String broken = Pgloom.iniText("transaction", settings + "default_pool_size = lots\n", "");
            int badLine = broken.lines().toList().indexOf("default_pool_size = lots") + 1;
            Pgloom.writeConfig(dir, broken, Pgloom.defaultUserlist());
            pgloom.signal("HUP");
            Pattern refused = Pattern.compile("reload refused, keeping the running config: "
                    + Pattern.quote(ini.toString()) + ":" + badLine + ": .*default_pool_size");
            pgloom.await(refused, START);
            assertTrue(refused.matcher(Files.readString(logfile)).find(), "the refusal is in the logfile too:\n"
                    + Files.readString(logfile));

            assertEquals("app", currentDatabase(existing), "an existing client goes on" + pgloom.output());
            try (Connection c = connect(port, "app2"); Connection d = connect(port, "app")) {
                assertEquals("app", currentDatabase(c), "new clients get the old config, app2 included");
                assertEquals("app", currentDatabase(d));
            }
        }

        pgloom.process.destroy(); // SIGTERM
        assertEquals(EXIT_SIGTERM, pgloom.awaitExit(EXIT), "exit status after SIGTERM" + pgloom.output());
        pgloom.await(Pattern.compile("shutting down"), Duration.ZERO);
        assertFalse(Files.exists(pidfile), "pgloom removes its pidfile" + pgloom.output());
        assertNobodyListens(port, pgloom);
    }

    @Test
    void theConfigFileAloneRunsPgloomAndCtrlCStopsIt(@TempDir Path dir) throws Exception {
        int port = PgloomProcess.freePort();
        Path ini = Pgloom.writeConfig(dir, Pgloom.iniText("transaction", processSettings(dir, port), ""),
                Pgloom.defaultUserlist());
        PgloomProcess pgloom = start("plain", ini.toString());
        pgloom.await(Pattern.compile("pgloom running with"), START);
        try (Connection c = connect(port, "app")) {
            assertEquals("app", currentDatabase(c));
        }
        pgloom.signal("INT");
        assertEquals(EXIT_SIGINT, pgloom.awaitExit(EXIT), "exit status after SIGINT" + pgloom.output());
        assertFalse(Files.exists(dir.resolve("pgloom.pid")), "pgloom removes its pidfile" + pgloom.output());
    }

    @Test
    void shutdownOnTheAdminConsoleEndsTheProcess(@TempDir Path dir) throws Exception {
        int port = PgloomProcess.freePort();
        Path ini = Pgloom.writeConfig(dir, Pgloom.iniText("transaction", processSettings(dir, port) + "admin_users = postgres\n", ""),
                Pgloom.defaultUserlist());
        PgloomProcess pgloom = start("shutdown", "run", ini.toString());
        pgloom.await(Pattern.compile("pgloom running with"), START);
        try (RawClient admin = new RawClient(port).login("postgres", "postgres", "pgbouncer")) {
            List<RawClient.Message> reply = admin.simpleQuery("SHUTDOWN");
            assertTrue(reply.stream().anyMatch(m -> m.type() == 'C' && m.text().startsWith("SHUTDOWN")), "reply" + pgloom.output());
        }
        assertEquals(0, pgloom.awaitExit(EXIT), "exit status after SHUTDOWN" + pgloom.output());
        assertFalse(Files.exists(dir.resolve("pgloom.pid")), "pgloom removes its pidfile" + pgloom.output());
        assertNobodyListens(port, pgloom);
    }

    /** Removes what a failed run left in the temp directory; never anything but pgloom's own directories. */
    private static void deleteTree(Path dir) throws IOException {
        if (dir == null || !dir.getFileName().toString().startsWith("pgloom-") || !Files.exists(dir)) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
