package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.wire.auth.ScramClientExchange;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.MessageBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;

/**
 * PgBouncer 1.25 settings about client limits, notices, server order, cancels and SCRAM cost:
 * max_db_client_connections, max_user_client_connections, query_wait_notify,
 * application_name_add_host, login_notify_message, server_round_robin, cancel_wait_timeout,
 * scram_iterations.
 */
class PgBouncerSettingsTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);

    // ---------------------------------------------------------------- client limits

    @Test
    void maxDbClientConnectionsRefusesTheClientOverTheLimitPerDatabase() throws Exception {
        TestPostgres.Endpoint pg = TestPostgres.shared();
        String small = "small = host=%s port=%d dbname=app max_db_client_connections=1\n".formatted(pg.host(), pg.port());
        try (Pgloom p = Pgloom.start("transaction", "max_db_client_connections = 2\n", small);
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("bob", "bob-secret", "app");
                RawClient s = new RawClient(p.port()).login("alice", "alice-secret", "small")) {
            SQLException e = assertThrows(SQLException.class, p::connect);
            assertEquals("08P01", e.getSQLState());
            assertTrue(e.getMessage().contains("client connections exceeded (max_db_client_connections)"), e.getMessage());
            // The entry's own limit (1) beats the global one (2).
            RawClient.LoginFailed refused = assertThrows(RawClient.LoginFailed.class,
                    () -> new RawClient(p.port()).login("bob", "bob-secret", "small"));
            assertEquals("FATAL", refused.error.severity());
            assertEquals("08P01", refused.error.sqlState());
            assertEquals("client connections exceeded (max_db_client_connections)", refused.error.message());
            // Another database is not affected, and a freed place can be taken again.
            try (Connection other = p.connect("postgres", "alice", "alice-secret")) {
                assertTrue(other.isValid(5));
            }
            leaveThenConnectAgain(p, b, a, s);
        }
    }

    @Test
    void serverLifetimeZeroUsesEachServerConnectionOnce() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "server_lifetime = 0\n"); Connection c = p.connect()) {
            Set<String> pids = new HashSet<>();
            for (int i = 0; i < 3; i++) {
                try (var st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
                    rs.next();
                    pids.add(rs.getString(1));
                }
            }
            assertEquals(3, pids.size(), "as in PgBouncer, 0 means each connection serves one transaction: " + pids);
        }
    }

    @Test
    void maxUserClientConnectionsRefusesTheClientOverTheLimitPerUser() throws Exception {
        String settings = "max_user_client_connections = 1\n[users]\nbob = max_user_client_connections=2\n";
        try (Pgloom p = Pgloom.start("transaction", settings);
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b1 = new RawClient(p.port()).login("bob", "bob-secret", "app");
                RawClient b2 = new RawClient(p.port()).login("bob", "bob-secret", "postgres")) {
            // The limit counts a user's clients across databases.
            SQLException e = assertThrows(SQLException.class, () -> p.connect("postgres", "alice", "alice-secret"));
            assertEquals("08P01", e.getSQLState());
            assertTrue(e.getMessage().contains("client connections exceeded (max_user_client_connections)"), e.getMessage());
            // bob's [users] entry allows 2; the third is refused.
            SQLException third = assertThrows(SQLException.class, () -> p.connect("app", "bob", "bob-secret"));
            assertTrue(third.getMessage().contains("client connections exceeded (max_user_client_connections)"),
                    third.getMessage());
            leaveThenConnectAgain(p, a, b1, b2);
        }
    }

    @Test
    void anAdminUserIsNotRefusedTheAdminConsoleAndItShowsTheLimits() throws Exception {
        TestPostgres.Endpoint pg = TestPostgres.shared();
        String small = "small = host=%s port=%d dbname=app max_db_client_connections=7\n".formatted(pg.host(), pg.port());
        try (Pgloom p = Pgloom.start("transaction", "admin_users = alice\nmax_db_client_connections = 1\n"
                + "max_user_client_connections = 1\n[users]\nbob = max_user_client_connections=3\n", small);
                RawClient first = new RawClient(p.port()).login("alice", "alice-secret", "pgbouncer");
                RawClient second = new RawClient(p.port()).login("alice", "alice-secret", "pgbouncer")) {
            ConsoleResult databases = ConsoleResult.query(second, "SHOW DATABASES");
            assertEquals("7", databases.row("name", "small").get("max_client_connections"));
            assertEquals("1", databases.row("name", "app").get("max_client_connections"));
            assertEquals("1", databases.row("name", "pgbouncer").get("max_client_connections"), "the console's limit too");
            assertEquals("2", databases.row("name", "pgbouncer").get("current_client_connections"));
            ConsoleResult users = ConsoleResult.query(second, "SHOW USERS");
            assertEquals("3", users.row("name", "bob").get("max_user_client_connections"));
            assertEquals("1", users.row("name", "alice").get("max_user_client_connections"));
            assertEquals("2", users.row("name", "alice").get("current_client_connections"));
        }
    }

    // ---------------------------------------------------------------- notices

    @Test
    void aClientWaitingLongerThanQueryWaitNotifyIsToldItIsQueued() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "default_pool_size = 1\nquery_wait_notify = 1\n");
                RawClient holder = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient waiter = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            holder.simpleQuery("BEGIN");
            waiter.send(RawClient.query("SELECT 'served'"));
            RawClient.Message first = waiter.read(); // blocks until the notice comes (the server is held)
            assertEquals('N', first.type(), "a notice while queued");
            ErrorResponse notice = first.error();
            assertEquals("NOTICE", notice.severity());
            assertEquals("00000", notice.sqlState());
            assertEquals("No server connection available in postgres backend, client being queued", notice.message());
            holder.simpleQuery("COMMIT");
            List<RawClient.Message> rest = waiter.readUntil('Z');
            assertEquals("served", RawClient.firstValue(rest));
            assertTrue(rest.stream().noneMatch(m -> m.type() == 'N'), "one notice per wait");
        }
    }

    @Test
    void loginNotifyMessageIsSentAsANoticeRightAfterLogin() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "login_notify_message = maintenance at 22:00 UTC\n");
                RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            assertEquals(1, c.loginNotices.size(), "one notice at login");
            ErrorResponse notice = c.loginNotices.getFirst();
            assertEquals("NOTICE", notice.severity());
            assertEquals("maintenance at 22:00 UTC", notice.message());
            assertEquals("1", RawClient.firstValue(c.simpleQuery("SELECT 1")));
        }
        try (Pgloom p = Pgloom.start("transaction", "");
                RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            assertEquals(List.of(), c.loginNotices, "no notice when login_notify_message is empty");
        }
    }

    @Test
    void applicationNameAddHostAppendsTheClientsAddressAndPort() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "application_name_add_host = 1\n");
                RawClient named = new RawClient(p.port()).login("alice", "alice-secret", "app",
                        Map.of("application_name", "billing"));
                RawClient unnamed = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            String expected = "billing - 127.0.0.1:" + named.socket.getLocalPort();
            assertEquals(expected, named.parameters.get("application_name"), "the client is told the name");
            assertEquals(expected, RawClient.firstValue(named.simpleQuery("SELECT current_setting('application_name')")),
                    "the server runs under it");
            assertEquals("app - 127.0.0.1:" + unnamed.socket.getLocalPort(),
                    RawClient.firstValue(unnamed.simpleQuery("SELECT current_setting('application_name')")));
        }
    }

    // ---------------------------------------------------------------- server order

    @Test
    void serverRoundRobinUsesIdleServersInTurn() throws Exception {
        assertEquals(1, distinctBackends("server_round_robin = 0\n"), "by default the most recent server is reused");
        assertEquals(2, distinctBackends("server_round_robin = 1\n"), "round robin takes each idle server in turn");
    }

    /** Opens two servers, lets both go idle, then runs four queries one after another: how many backends served them. */
    private static int distinctBackends(String settings) throws Exception {
        try (Pgloom p = Pgloom.start("transaction", settings);
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            a.simpleQuery("BEGIN");
            b.simpleQuery("BEGIN");
            a.simpleQuery("COMMIT");
            b.simpleQuery("COMMIT");
            Set<String> pids = new HashSet<>();
            for (int i = 0; i < 4; i++) {
                pids.add(RawClient.firstValue(a.simpleQuery("SELECT pg_backend_pid()")));
            }
            return pids.size();
        }
    }

    // ---------------------------------------------------------------- cancel_wait_timeout

    @Test
    void aCancelThatCannotBeDeliveredIsGivenUpAfterCancelWaitTimeout() throws Exception {
        TestPostgres.Endpoint pg = TestPostgres.shared();
        try (StallingProxy proxy = new StallingProxy(pg.port());
                LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
                Pgloom p = Pgloom.start("transaction", "cancel_wait_timeout = 1\n",
                        "stalled = host=127.0.0.1 port=%d dbname=app\n".formatted(proxy.port()));
                RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "stalled")) {
            c.send(RawClient.query("SELECT 'finished' FROM pg_sleep(3)"));
            awaitServers(p, 1);
            try (Socket cancel = new Socket("127.0.0.1", p.port())) {
                cancel.getOutputStream().write(new MessageBuilder().int32(80877102).int32(c.backendPid)
                        .int32(c.backendSecret).build());
                cancel.getOutputStream().flush();
            }
            String line = log.await("about the cancel given up", l -> l.contains("gave up forwarding cancel")
                    && l.contains("cancel_wait_timeout (1.0 s) reached"));
            assertTrue(line.contains("from 127.0.0.1:" + c.socket.getLocalPort()), line);
            assertTrue(proxy.held.size() >= 1, "the cancel reached the stalled backend address");
            List<RawClient.Message> answer = c.readUntil('Z');
            assertEquals("finished", RawClient.firstValue(answer), "the query ran to its end: the cancel never arrived");
        }
    }

    /**
     * Waits until {@code n} server connections are linked to a client (the query has reached its
     * server). A server just logged in shows as active before the client it was opened for links
     * it, and a cancel in that moment finds nothing to cancel: count the linked ones only.
     */
    private static void awaitServers(Pgloom p, int n) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        while (p.server.pooler().poolViews().stream().flatMap(v -> v.servers().stream())
                .filter(s -> s.state().equals("active") && !s.link().isEmpty()).count() < n) {
            assertTrue(System.nanoTime() - deadline < 0, "no active server after " + PATIENCE);
            Thread.sleep(20);
        }
    }

    /**
     * Forwards the first connection to PostgreSQL (pgloom's server connection); every later one
     * (the forwarded cancel) is accepted and then left hanging, as a backend host that stopped
     * answering would.
     */
    private static final class StallingProxy implements AutoCloseable {
        final List<Socket> held = new CopyOnWriteArrayList<>();
        private final List<Socket> piped = new CopyOnWriteArrayList<>();
        private final ServerSocket socket;

        StallingProxy(int target) throws IOException {
            socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread.ofVirtual().start(() -> {
                boolean first = true;
                while (!socket.isClosed()) {
                    try {
                        Socket a = socket.accept();
                        if (!first) {
                            held.add(a);
                            continue;
                        }
                        first = false;
                        Socket b = new Socket(InetAddress.getLoopbackAddress(), target);
                        piped.add(a);
                        piped.add(b);
                        Thread.ofVirtual().start(() -> pipe(a, b));
                        Thread.ofVirtual().start(() -> pipe(b, a));
                    } catch (IOException e) {
                        return;
                    }
                }
            });
        }

        int port() {
            return socket.getLocalPort();
        }

        private static void pipe(Socket from, Socket to) {
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                in.transferTo(out);
            } catch (IOException ignored) {
                // one side closed
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
            List<Socket> all = new ArrayList<>(held);
            all.addAll(piped);
            for (Socket s : all) {
                s.close();
            }
        }
    }

    // ---------------------------------------------------------------- scram_iterations

    @Test
    void scramIterationsIsTheCostOfSecretsDerivedFromPlainPasswords() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "scram_iterations = 1000\n")) {
            assertEquals("1000", announcedIterations(p, "alice"), "the derived secret's cost");
            assertEquals("1000", announcedIterations(p, "ghost"), "an unknown user's mock exchange looks the same");
            try (Connection c = p.connect(); ResultSet rs = c.createStatement().executeQuery("SELECT 1")) {
                assertTrue(rs.next(), "the login with that secret works");
            }
        }
        try (Pgloom p = Pgloom.start("transaction", "")) {
            assertNotEquals("1000", announcedIterations(p, "alice"));
            assertEquals("4096", announcedIterations(p, "alice"), "PgBouncer's default");
        }
    }

    /** Starts a SCRAM login as {@code user} and returns the i= of pgloom's server-first-message. */
    private static String announcedIterations(Pgloom p, String user) throws Exception {
        try (RawClient c = new RawClient(p.port())) {
            c.send(RawClient.startupPacket(Map.of("user", user, "database", "app")));
            RawClient.Message sasl = c.read();
            assertEquals('R', sasl.type());
            assertEquals(10, ByteBuffer.wrap(sasl.body()).getInt(), "AuthenticationSASL");
            byte[] first = new ScramClientExchange("whatever").clientFirstMessage();
            c.send(new MessageBuilder('p').cstring("SCRAM-SHA-256").int32(first.length).bytes(first).build());
            RawClient.Message cont = c.read();
            assertEquals(11, ByteBuffer.wrap(cont.body()).getInt(), "AuthenticationSASLContinue");
            String serverFirst = new String(cont.body(), 4, cont.body().length - 4, StandardCharsets.UTF_8);
            for (String attribute : serverFirst.split(",")) {
                if (attribute.startsWith("i=")) {
                    return attribute.substring(2);
                }
            }
            throw new AssertionError("no i= in " + serverFirst);
        }
    }

    // ---------------------------------------------------------------- pool_idle_timeout, autodb_idle_timeout

    @Test
    void unusedPoolsAreFreedAfterPoolIdleTimeoutAndAutodbIdleTimeout() throws Exception {
        TestPostgres.Endpoint pg = TestPostgres.shared();
        String fallback = "* = host=%s port=%d dbname=app\n".formatted(pg.host(), pg.port());
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
                Pgloom p = Pgloom.start("transaction", "server_idle_timeout = 1\npool_idle_timeout = 0\n"
                        + "autodb_idle_timeout = 1\n", fallback)) {
            for (String database : List.of("app", "auto1")) {
                try (RawClient c = new RawClient(p.port()).login("alice", "alice-secret", database)) {
                    assertEquals("1", RawClient.firstValue(c.simpleQuery("SELECT 1")));
                    c.terminate();
                }
            }
            log.await("about auto1 made from the * entry", l -> l.contains("registered new auto-database: auto1"));
            assertTrue(log.matching(l -> l.contains("registered new auto-database: app")).isEmpty(), "app is in the file");
            String freed = log.await("about auto1's pool freed", l -> l.contains("auto1/alice: pool freed"));
            assertTrue(freed.contains("autodb_idle_timeout"), freed);
            awaitPools(p, List.of("app/alice"));
            assertTrue(log.matching(l -> l.contains("app/alice: pool freed")).isEmpty(),
                    "pool_idle_timeout = 0 keeps app's pool");
            // A new client of the freed database gets a new pool.
            try (RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "auto1")) {
                assertEquals("1", RawClient.firstValue(c.simpleQuery("SELECT 1")));
            }
        }
        try (Pgloom p = Pgloom.start("transaction", "server_idle_timeout = 1\npool_idle_timeout = 1\n")) {
            try (RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
                assertEquals("1", RawClient.firstValue(c.simpleQuery("SELECT 1")));
                c.terminate();
            }
            awaitPools(p, List.of());
        }
    }

    /** Waits until pgloom's pools are exactly {@code expected} ("database/user"). */
    private static void awaitPools(Pgloom p, List<String> expected) throws InterruptedException {
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        List<String> now;
        while (!(now = p.server.pooler().poolViews().stream().map(v -> v.database() + "/" + v.user()).toList())
                .equals(expected)) {
            assertTrue(System.nanoTime() - deadline < 0, "pools " + now + ", expected " + expected + " after " + PATIENCE);
            Thread.sleep(50);
        }
    }

    // ---------------------------------------------------------------- helpers

    /**
     * {@code leaving} goes; alice then gets its place in app (retrying while pgloom counts the
     * leaver out), and the clients that stayed still work.
     */
    private static void leaveThenConnectAgain(Pgloom p, RawClient leaving, RawClient... staying) throws Exception {
        leaving.terminate();
        leaving.close();
        try (Connection again = connectWithin(PATIENCE, () -> p.connect())) {
            assertTrue(again.isValid(5));
        }
        for (RawClient c : staying) {
            assertEquals("1", RawClient.firstValue(c.simpleQuery("SELECT 1")));
        }
    }

    @FunctionalInterface
    private interface Connect {
        Connection connect() throws SQLException;
    }

    /** Connects, retrying while a freed place is not yet given back (the leaving client's thread runs on). */
    private static Connection connectWithin(Duration patience, Connect connect) throws Exception {
        long deadline = System.nanoTime() + patience.toNanos();
        while (true) {
            try {
                return connect.connect();
            } catch (SQLException e) {
                if (System.nanoTime() - deadline >= 0) {
                    throw e;
                }
                Thread.sleep(50);
            }
        }
    }
}
