package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgloom.server.PgloomServer;
import io.pgloom.wire.protocol.ErrorResponse;
import java.io.File;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * pgloom listens on {@code <unix_socket_dir>/.s.PGSQL.<port>} as PgBouncer does, so
 * {@code psql -h <dir> -p <port>} and applications using the socket keep working. Every socket
 * here lives in a temp directory.
 */
class UnixSocketTest {

    /** Starts pgloom with its socket in {@code socketDir} and TCP on 127.0.0.1 (port 0). */
    private static Pgloom start(Path socketDir, String extra) throws Exception {
        return Pgloom.start("transaction", "unix_socket_dir = " + socketDir + "\n" + extra);
    }

    private static Path socketFile(Path dir, int port) {
        return dir.resolve(".s.PGSQL." + port);
    }

    @Test
    void aRawClientLogsInAndQueriesOverTheSocketWhichIsNamedAfterTheTcpPort(@TempDir Path dir) throws Exception {
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture(); Pgloom p = start(dir, "")) {
            Path file = socketFile(dir, p.port());
            assertTrue(Files.exists(file), "socket file " + file + " named after the bound TCP port");
            assertEquals(List.of("127.0.0.1:" + p.port(), "unix:" + file), p.server.listenAddresses());
            assertEquals("rwxrwxrwx", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)),
                    "unix_socket_mode defaults to 0777");
            try (RawClient c = new RawClient(file).login("alice", "alice-secret", "app")) {
                assertEquals("7", RawClient.firstValue(c.simpleQuery("SELECT 3 + 4")));
                assertEquals("app", RawClient.firstValue(c.simpleQuery("SELECT current_database()")));
                c.simpleQuery("BEGIN");
                c.simpleQuery("CREATE TEMP TABLE t (x int)");
                c.simpleQuery("INSERT INTO t VALUES (1), (2)");
                assertEquals("2", RawClient.firstValue(c.simpleQuery("SELECT count(*) FROM t")));
                c.simpleQuery("COMMIT");
                String login = log.await("for the unix client's login", l -> l.contains("alice@app from unix:" + file + ": login ok"));
                assertTrue(login.contains("C-"), login);
                c.terminate();
            }
            log.await("for its one disconnect line", l -> l.contains("alice@app from unix:" + file + ": closing because: client close request (age="));
            // TCP still works beside it.
            try (RawClient c = new RawClient(p.port()).login("bob", "bob-secret", "app")) {
                assertEquals("1", RawClient.firstValue(c.simpleQuery("SELECT 1")));
            }
        }
    }

    @Test
    void theAdminConsoleAnswersOverTheSocketAndListsUnixClients(@TempDir Path dir) throws Exception {
        try (Pgloom p = start(dir, "admin_users = postgres\n")) {
            Path file = socketFile(dir, p.port());
            try (RawClient app = new RawClient(file).login("alice", "alice-secret", "app");
                    RawClient admin = new RawClient(file).login("postgres", "postgres", "pgbouncer")) {
                app.simpleQuery("SELECT 1");
                ConsoleResult clients = ConsoleResult.of(admin.simpleQuery("SHOW CLIENTS"));
                assertEquals(null, clients.error(), "SHOW CLIENTS over the socket");
                List<Map<String, String>> alice = clients.where("user", "alice");
                assertEquals(1, alice.size(), clients.rows().toString());
                assertEquals("unix", alice.getFirst().get("addr"), "PgBouncer names a unix client's address \"unix\"");
                assertEquals(String.valueOf(p.port()), alice.getFirst().get("port"));
                assertEquals("unix", alice.getFirst().get("local_addr"));
                ConsoleResult version = ConsoleResult.of(admin.simpleQuery("SHOW VERSION"));
                assertEquals(1, version.rows().size());
            }
        }
    }

    @Test
    void psqlConnectsWithHostSetToTheSocketDirectory(@TempDir Path dir) throws Exception {
        Path psql = onPath("psql");
        assumeTrue(psql != null, "psql is not on PATH: `psql -h <dir> -p <port>` over the unix socket was not tried");
        try (Pgloom p = start(dir, "admin_users = postgres\n")) {
            String answer = run(List.of(psql.toString(), "-h", dir.toString(), "-p", String.valueOf(p.port()), "-U", "alice",
                    "-d", "app", "-X", "-A", "-t", "-c", "SELECT 6 * 7"), "alice-secret");
            assertEquals("42", answer.strip());
            String console = run(List.of(psql.toString(), "-h", dir.toString(), "-p", String.valueOf(p.port()), "-U", "postgres",
                    "-d", "pgbouncer", "-X", "-A", "-t", "-c", "SHOW VERSION"), "postgres");
            assertTrue(console.contains("PgBouncer") || console.toLowerCase().contains("pgloom"), console);
        }
    }

    @Test
    void unixSocketModeSetsTheFileMode(@TempDir Path dir) throws Exception {
        try (Pgloom p = start(dir, "unix_socket_mode = 0600\n")) {
            Path file = socketFile(dir, p.port());
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
            try (RawClient c = new RawClient(file).login("alice", "alice-secret", "app")) {
                assertEquals("1", RawClient.firstValue(c.simpleQuery("SELECT 1")));
            }
        }
    }

    @Test
    void emptyListenAddrMeansTheSocketOnlyAndTheFileGoesAtClose(@TempDir Path dir) throws Exception {
        int port = PgloomProcess.freePort();
        Path file = socketFile(dir, port);
        Pgloom p = start(dir, "listen_addr =\nlisten_port = " + port + "\n");
        try {
            assertEquals(List.of("unix:" + file), p.server.listenAddresses());
            assertNobodyListens(port);
            try (RawClient c = new RawClient(file).login("alice", "alice-secret", "app")) {
                assertEquals("1", RawClient.firstValue(c.simpleQuery("SELECT 1")));
            }
        } finally {
            p.close();
        }
        assertFalse(Files.exists(file), file + " removed when pgloom closed");
    }

    @Test
    void aStaleSocketFileIsReplaced(@TempDir Path dir) throws Exception {
        int port = PgloomProcess.freePort();
        Path file = socketFile(dir, port);
        // A process that died leaves its socket file: bound once, nobody accepts on it any more.
        try (ServerSocketChannel dead = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            dead.bind(UnixDomainSocketAddress.of(file));
        }
        assertTrue(Files.exists(file), "closing a channel leaves its file, as a crash does");
        try (Pgloom p = start(dir, "listen_addr =\nlisten_port = " + port + "\n");
                RawClient c = new RawClient(file).login("alice", "alice-secret", "app")) {
            assertEquals("1", RawClient.firstValue(c.simpleQuery("SELECT 1")));
        }
    }

    @Test
    void aLiveSocketFileMakesStartupFailNamingIt(@TempDir Path dir) throws Exception {
        int port = PgloomProcess.freePort();
        Path file = socketFile(dir, port);
        try (ServerSocketChannel live = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            live.bind(UnixDomainSocketAddress.of(file));
            Path ini = Pgloom.writeConfig(dir, Pgloom.iniText("transaction",
                    "unix_socket_dir = " + dir + "\nlisten_addr =\nlisten_port = " + port + "\n", ""), Pgloom.defaultUserlist());
            IOException e = assertThrows(IOException.class, () -> PgloomServer.start(ini).close());
            assertTrue(e.getMessage().contains("another process accepts connections on unix socket " + file), e.getMessage());
            assertTrue(Files.exists(file), "the other process's socket is left alone");
        }
    }

    @Test
    void aGroupThatCannotBeAppliedMakesStartupFail(@TempDir Path dir) throws Exception {
        Path ini = Pgloom.writeConfig(dir, Pgloom.iniText("transaction",
                "unix_socket_dir = " + dir + "\nunix_socket_group = no-such-group-pgloom\n", ""), Pgloom.defaultUserlist());
        IOException e = assertThrows(IOException.class, () -> PgloomServer.start(ini).close());
        assertTrue(e.getMessage().startsWith("unix_socket_group = no-such-group-pgloom: no such group"), e.getMessage());
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().startsWith(".s.PGSQL.")), "no socket file left behind");
        }
    }

    @Test
    void loginAndIdleTimeoutsCloseUnixAndTcpClients(@TempDir Path dir) throws Exception {
        try (Pgloom p = start(dir, "client_login_timeout = 1\nclient_idle_timeout = 1\nidle_transaction_timeout = 1\n")) {
            Path file = socketFile(dir, p.port());
            try (RawClient silentUnix = new RawClient(file); RawClient silentTcp = new RawClient(p.port())) {
                for (RawClient c : List.of(silentUnix, silentTcp)) {
                    ErrorResponse e = c.readError();
                    assertEquals("FATAL", e.severity());
                    assertEquals("08P01", e.sqlState());
                    assertEquals("client_login_timeout", e.message());
                    assertTrue(c.closedByPeer(), "closed after client_login_timeout");
                }
            }
            try (RawClient idleUnix = new RawClient(file).login("alice", "alice-secret", "app");
                    RawClient idleTcp = new RawClient(p.port()).login("bob", "bob-secret", "app")) {
                for (RawClient c : List.of(idleUnix, idleTcp)) {
                    ErrorResponse e = c.readError();
                    assertEquals("08P01", e.sqlState());
                    assertEquals("client_idle_timeout", e.message());
                    assertTrue(c.closedByPeer(), "closed after client_idle_timeout");
                }
            }
            try (RawClient inTx = new RawClient(file).login("alice", "alice-secret", "app")) {
                inTx.simpleQuery("BEGIN");
                ErrorResponse e = inTx.readError();
                assertEquals("idle transaction timeout", e.message());
                assertTrue(inTx.closedByPeer());
            }
            awaitNoClients(p);
        }
    }

    /**
     * A client that sends a query and never reads its result fills its socket buffer; the server
     * connection's thread blocks writing to it, holding the client's write lock. KILL_CLIENT must
     * still end it: the final error is given a bounded time, then the connection is closed.
     */
    @Test
    void killClientEndsAClientThatDoesNotRead(@TempDir Path dir) throws Exception {
        try (Pgloom p = start(dir, "admin_users = postgres\n");
                RawClient admin = new RawClient(p.port()).login("postgres", "postgres", "pgbouncer");
                RawClient stuck = new RawClient(socketFile(dir, p.port())).login("alice", "alice-secret", "app")) {
            stuck.send(RawClient.query("SELECT repeat('x', 1000000) FROM generate_series(1, 200)"));
            String id = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (id == null) {
                assertTrue(System.nanoTime() - deadline < 0, "the stuck client shows as active");
                for (Map<String, String> row : ConsoleResult.of(admin.simpleQuery("SHOW CLIENTS")).where("user", "alice")) {
                    if ("active".equals(row.get("state"))) {
                        id = row.get("id");
                    }
                }
                Thread.sleep(50);
            }
            Thread.sleep(500); // let the result fill the socket buffers
            ConsoleResult killed = ConsoleResult.of(admin.simpleQuery("KILL_CLIENT " + id));
            assertEquals(null, killed.error(), "KILL_CLIENT answered");
            awaitClientCount(p, 1); // the admin only
        }
    }

    private static void awaitNoClients(Pgloom p) throws InterruptedException {
        awaitClientCount(p, 0);
    }

    private static void awaitClientCount(Pgloom p, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (p.server.pooler().clientCount() > n) {
            assertTrue(System.nanoTime() - deadline < 0, "clients still connected after 30 s: " + p.server.pooler().clientCount());
            Thread.sleep(20);
        }
    }

    private static void assertNobodyListens(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            throw new AssertionError("something listens on TCP port " + port + " though listen_addr is empty");
        } catch (ConnectException expected) {
            // refused: no TCP listener
        } catch (IOException e) {
            throw new AssertionError("unexpected " + e, e);
        }
    }

    private static Path onPath(String program) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(d.isEmpty() ? "." : d, program);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    private static String run(List<String> command, String password) throws Exception {
        ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true);
        b.environment().put("PGPASSWORD", password);
        b.environment().put("PGCONNECT_TIMEOUT", "10");
        Process proc = b.start();
        proc.getOutputStream().close();
        byte[] out = proc.getInputStream().readAllBytes();
        assertTrue(proc.waitFor(60, TimeUnit.SECONDS), "psql finished");
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, proc.exitValue(), "psql exit status; output:\n" + text);
        return text;
    }
}
