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
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
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
        int metricsPort = demoAnswersOnTheConsoleAndOverHttp(printed, port, demo);

        Path psql = onPath("psql");
        if (psql != null) {
            String answer = runShell(psqlCommand, "SELECT 6 * 7 AS answer;\n", demo);
            assertTrue(answer.matches("(?s).*\\banswer\\b.*\\b42\\b.*"), "psql printed the answer:\n" + answer);
            String pools = runShell(printedLine(printed, "admin", demo), "", demo);
            assertTrue(pools.contains("cl_active") && pools.contains(" demo "), "psql printed SHOW POOLS:\n" + pools);
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
        assertNobodyListens(metricsPort, demo);
        assertNobodyListens(Integer.parseInt(pgPort.group(1)), demo);
        assumeTrue(psql != null, "psql is not on PATH: the demo's psql command line was not tried"
                + " (everything else was checked; install postgresql-client to run it too)");
    }

    /**
     * The demo's user is an admin of the console (SHOW POOLS lists the demo pool), and the
     * /metrics, /health and /ready URLs it prints answer. Returns the metrics port.
     */
    private static int demoAnswersOnTheConsoleAndOverHttp(String printed, int port, PgloomProcess demo) throws Exception {
        try (RawClient console = new RawClient(port).login("demo", "demo", "pgbouncer")) {
            ConsoleResult pools = ConsoleResult.query(console, "SHOW POOLS");
            assertEquals(null, pools.error(), "SHOW POOLS for the demo user" + demo.output());
            assertEquals("demo", pools.row("database", "demo").get("user"));
        }
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        String metricsUrl = printedLine(printed, "metrics", demo);
        for (String url : List.of(metricsUrl, printedLine(printed, "health", demo), printedLine(printed, "ready", demo))) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), url + " answers: " + r.body() + demo.output());
            if (url.equals(metricsUrl)) {
                assertTrue(r.body().contains("pgbouncer_pools_client_active_connections"), "pool metrics:\n" + r.body());
            }
        }
        return URI.create(metricsUrl).getPort();
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

    /** The TCP port refuses connections, within a few seconds (the shutdown's first step runs just after its log line). */
    private static void assertNobodyListens(int port, PgloomProcess p) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            } catch (ConnectException expected) {
                return; // refused: nobody listens
            } catch (IOException e) {
                throw new AssertionError("unexpected " + e + p.output(), e);
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("something still listens on port " + port + p.output());
            }
            Thread.sleep(20);
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
        assertEquals(0, pgloom.awaitExit(EXIT), "exit status after SIGTERM, as PgBouncer's" + pgloom.output());
        pgloom.await(Pattern.compile("SIGTERM: super safe shutdown"), Duration.ZERO);
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
        assertEquals(0, pgloom.awaitExit(EXIT), "exit status after SIGINT, as PgBouncer's" + pgloom.output());
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

    // ---------------------------------------------------------------------------------- signals

    private PgloomProcess startRun(Path dir, String name, String extraSettings) throws Exception {
        int port = PgloomProcess.freePort();
        Path ini = Pgloom.writeConfig(dir, Pgloom.iniText("transaction", processSettings(dir, port)
                + "unix_socket_dir = " + dir + "\n" + extraSettings, ""), Pgloom.defaultUserlist());
        PgloomProcess pgloom = start(name, "run", ini.toString());
        pgloom.await(Pattern.compile("pgloom running with"), START);
        return pgloom;
    }

    /** The listen_port startRun chose: the last one in the file, the one that counts. */
    private static int portOf(Path dir) throws IOException {
        Matcher m = Pattern.compile("listen_port = (\\d+)").matcher(Files.readString(dir.resolve("pgbouncer.ini")));
        int port = -1;
        while (m.find()) {
            port = Integer.parseInt(m.group(1));
        }
        return port;
    }

    /** Sends {@code signal} and waits for the line pgloom logs when it acts on it. */
    private static void sendAndAwaitLog(PgloomProcess pgloom, String signal, String logged) throws Exception {
        pgloom.signal(signal);
        pgloom.await(Pattern.compile(Pattern.quote(logged)), START);
    }

    /**
     * During a waiting shutdown the Unix socket stays open for the admin console (user pgbouncer,
     * peer: this test runs as the same OS user), as in PgBouncer; every other login is refused.
     */
    private static void assertOnlyTheConsoleComesIn(Path socket, PgloomProcess pgloom) throws Exception {
        try (RawClient console = new RawClient(socket).login("pgbouncer", "", "pgbouncer")) {
            String version = RawClient.firstValue(console.simpleQuery("SHOW VERSION"));
            assertTrue(version.startsWith("PgBouncer"), version + pgloom.output());
        }
        try (RawClient client = new RawClient(socket)) {
            RawClient.LoginFailed refused = assertThrows(RawClient.LoginFailed.class,
                    () -> client.login("alice", "alice-secret", "app"));
            assertEquals("57P01", refused.error.sqlState(), "admin_shutdown" + pgloom.output());
        }
    }

    /** An orderly exit removes the pidfile and the Unix socket file. */
    private static void assertLeftNothingBehind(Path dir, int port, PgloomProcess pgloom) {
        assertFalse(Files.exists(dir.resolve("pgloom.pid")), "pgloom removes its pidfile" + pgloom.output());
        assertFalse(Files.exists(dir.resolve(".s.PGSQL." + port)), "and its unix socket" + pgloom.output());
    }

    @Test
    void sigtermLetsEveryClientFinishAndExitsOnceTheLastHasDisconnected(@TempDir Path dir) throws Exception {
        PgloomProcess pgloom = startRun(dir, "sigterm", "");
        int port = portOf(dir);
        Path socket = dir.resolve(".s.PGSQL." + port);
        assertTrue(Files.exists(socket), "unix socket" + pgloom.output());
        try (Connection c = connect(port, "app")) {
            c.setAutoCommit(false);
            assertEquals("app", currentDatabase(c));
            sendAndAwaitLog(pgloom, "TERM", "SIGTERM: super safe shutdown");
            assertNobodyListens(port, pgloom);
            assertOnlyTheConsoleComesIn(socket, pgloom);
            sendAndAwaitLog(pgloom, "USR2", "got SIGUSR2 while shutting down, ignoring");
            c.commit();
            assertEquals("app", currentDatabase(c), "a connected client goes on, in new transactions too");
            c.commit();
            assertTrue(pgloom.process.isAlive(), "pgloom waits for the client to disconnect" + pgloom.output());
        }
        assertEquals(0, pgloom.awaitExit(EXIT), "exit status after SIGTERM" + pgloom.output());
        assertLeftNothingBehind(dir, port, pgloom);
    }

    @Test
    void aSecondSigtermExitsAtOnce(@TempDir Path dir) throws Exception {
        PgloomProcess pgloom = startRun(dir, "sigterm2", "");
        int port = portOf(dir);
        try (Connection c = connect(port, "app")) {
            assertEquals("app", currentDatabase(c));
            sendAndAwaitLog(pgloom, "TERM", "SIGTERM: super safe shutdown");
            pgloom.signal("TERM");
            assertEquals(0, pgloom.awaitExit(EXIT), "exit status after a second SIGTERM" + pgloom.output());
            pgloom.await(Pattern.compile("SIGTERM during the shutdown: closing every connection now"), Duration.ZERO);
            assertThrows(SQLException.class, () -> currentDatabase(c), "the client was disconnected");
        }
        assertLeftNothingBehind(dir, port, pgloom);
    }

    @Test
    void sigquitClosesEveryConnectionAndExitsAtOnce(@TempDir Path dir) throws Exception {
        PgloomProcess pgloom = startRun(dir, "sigquit", "");
        int port = portOf(dir);
        try (Connection c = connect(port, "app")) {
            c.setAutoCommit(false);
            assertEquals("app", currentDatabase(c));
            sendAndAwaitLog(pgloom, "QUIT", "SIGQUIT: immediate shutdown");
            assertEquals(0, pgloom.awaitExit(EXIT), "exit status after SIGQUIT" + pgloom.output());
            assertThrows(SQLException.class, () -> currentDatabase(c), "the client in a transaction was disconnected");
        }
        assertLeftNothingBehind(dir, port, pgloom);
        assertFalse(pgloom.output().contains("Full thread dump"), "no thread dump instead" + pgloom.output());
    }

    @Test
    void jcmdStillWorksAndDoesNotStopPgloom(@TempDir Path dir) throws Exception {
        PgloomProcess pgloom = startRun(dir, "jcmd", "");
        int port = portOf(dir);
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process dump = new ProcessBuilder(jcmd.toString(), Long.toString(pgloom.process.pid()), "Thread.print")
                .redirectErrorStream(true).start();
        String printed = new String(dump.getInputStream().readAllBytes());
        assertEquals(0, dump.waitFor(), printed);
        assertTrue(printed.contains("Full thread dump"), printed);
        try (Connection c = connect(port, "app")) {
            assertEquals("app", currentDatabase(c), "pgloom still serves after jcmd" + pgloom.output());
        }
        pgloom.signal("TERM");
        assertEquals(0, pgloom.awaitExit(EXIT), "exit status after SIGTERM" + pgloom.output());
    }

    @Test
    void sigintExitsOnceEveryServerIsReleasedAndDisconnectsIdleClients(@TempDir Path dir) throws Exception {
        PgloomProcess pgloom = startRun(dir, "sigint", "");
        int port = portOf(dir);
        try (Connection inTransaction = connect(port, "app"); Connection idle = connect(port, "app")) {
            assertEquals("app", currentDatabase(idle));
            inTransaction.setAutoCommit(false);
            assertEquals("app", currentDatabase(inTransaction));
            sendAndAwaitLog(pgloom, "INT", "SIGINT: safe shutdown");
            assertNobodyListens(port, pgloom);
            assertOnlyTheConsoleComesIn(dir.resolve(".s.PGSQL." + port), pgloom);
            assertThrows(SQLException.class, () -> currentDatabase(idle), "a new transaction is refused");
            assertTrue(pgloom.process.isAlive(), "the open transaction holds a server" + pgloom.output());
            assertEquals("app", currentDatabase(inTransaction), "the open transaction goes on");
            inTransaction.commit();
        }
        assertEquals(0, pgloom.awaitExit(EXIT), "exit status after SIGINT" + pgloom.output());
        assertLeftNothingBehind(dir, port, pgloom);
    }

    @Test
    void aSigintPgloomWasStartedWithIgnoredIsTakenAnyway(@TempDir Path dir) throws Exception {
        // As a shell script's background job starts it (PgBouncer's test runner does): SIGINT ignored.
        int port = PgloomProcess.freePort();
        Path ini = Pgloom.writeConfig(dir, Pgloom.iniText("transaction", processSettings(dir, port)
                + "unix_socket_dir = " + dir + "\n", ""), Pgloom.defaultUserlist());
        PgloomProcess pgloom = PgloomProcess.startUnder(List.of("/bin/sh", "-c", "trap '' INT; exec \"$0\" \"$@\""),
                "sigint-ignored", "run", ini.toString());
        processes.add(pgloom);
        pgloom.await(Pattern.compile("pgloom running with"), START);
        pgloom.await(Pattern.compile("SIGINT was ignored when pgloom started"), Duration.ZERO);
        sendAndAwaitLog(pgloom, "INT", "SIGINT: safe shutdown");
        assertEquals(0, pgloom.awaitExit(EXIT), "exit status after SIGINT" + pgloom.output());
    }

    @Test
    void sigusr1PausesAndSigusr2Resumes(@TempDir Path dir) throws Exception {
        PgloomProcess pgloom = startRun(dir, "sigusr", "admin_users = postgres\n");
        int port = portOf(dir);
        try (Connection c = connect(port, "app")) {
            assertEquals("app", currentDatabase(c));
            sendAndAwaitLog(pgloom, "USR1", "SIGUSR1: pausing every database");
            awaitState(port, "yes", pgloom);
            var query = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return currentDatabase(c);
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            awaitWaitingClients(port, "1", pgloom);
            assertFalse(query.isDone(), "the query waits while paused" + pgloom.output());
            sendAndAwaitLog(pgloom, "USR2", "SIGUSR2: resuming every database");
            assertEquals("app", query.get(60, TimeUnit.SECONDS), "the query runs after the resume");
            awaitState(port, "no", pgloom);
        }
        pgloom.signal("TERM");
        assertEquals(0, pgloom.awaitExit(EXIT), "exit status after SIGTERM" + pgloom.output());
    }

    private static ConsoleResult show(int port, String what) throws IOException {
        try (RawClient admin = new RawClient(port).login("postgres", "postgres", "pgbouncer")) {
            return ConsoleResult.query(admin, "SHOW " + what);
        }
    }

    private static void awaitState(int port, String paused, PgloomProcess pgloom) throws Exception {
        awaitShown(port, "STATE", "key", "paused", "value", paused, pgloom);
    }

    private static void awaitWaitingClients(int port, String waiting, PgloomProcess pgloom) throws Exception {
        awaitShown(port, "POOLS", "database", "app", "cl_waiting", waiting, pgloom);
    }

    private static void awaitShown(int port, String what, String keyColumn, String key, String column, String expected,
            PgloomProcess pgloom) throws Exception {
        long end = System.nanoTime() + START.toNanos();
        String shown;
        while (!(shown = show(port, what).row(keyColumn, key).get(column)).equals(expected)) {
            if (System.nanoTime() > end) {
                throw new AssertionError("SHOW " + what + ": " + column + " of " + key + " is " + shown + ", not "
                        + expected + pgloom.output());
            }
            Thread.sleep(50);
        }
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
