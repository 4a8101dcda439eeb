package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The admin console's state-changing commands, each shown by its effect on real clients (pgjdbc)
 * of a pgloom in transaction mode: PAUSE/RESUME, RECONNECT/WAIT_CLOSE, KILL, KILL_CLIENT,
 * DISABLE/ENABLE, SET, RELOAD, SHUTDOWN. Replies are PgBouncer's command tags and errors.
 */
class AdminConsoleCommandsTest {
    private Pgloom pgloom;
    private RawClient admin;

    @BeforeEach
    void start() throws Exception {
        pgloom = Pgloom.start("transaction", "admin_users = postgres\n");
        admin = new RawClient(pgloom.port()).login("postgres", "postgres", "pgbouncer");
    }

    @AfterEach
    void stop() throws IOException {
        admin.close();
        pgloom.close();
    }

    private static String tag(List<RawClient.Message> reply) {
        ConsoleResult r = ConsoleResult.of(reply);
        assertNull(r.error(), () -> "unexpected error " + r.error().error());
        for (RawClient.Message m : reply) {
            if (m.type() == 'C') {
                return m.text().substring(0, m.text().length() - 1); // without the NUL
            }
        }
        throw new AssertionError("no CommandComplete in " + reply);
    }

    private String command(String sql) throws IOException {
        return tag(admin.simpleQuery(sql));
    }

    private String error(String sql) throws IOException {
        return error(sql, "08P01");
    }

    private String error(String sql, String sqlState) throws IOException {
        RawClient.Message e = ConsoleResult.of(admin.simpleQuery(sql)).error();
        assertTrue(e != null, sql + " should fail");
        assertEquals(sqlState, e.error().sqlState(), sql);
        return e.error().message();
    }

    /** A second console client: the first may be blocked in PAUSE or WAIT_CLOSE. */
    private ConsoleResult show(String what) throws IOException {
        try (RawClient c = new RawClient(pgloom.port()).login("postgres", "postgres", "pgbouncer")) {
            return ConsoleResult.query(c, "SHOW " + what);
        }
    }

    private static int backendPid(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT pg_backend_pid()")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    private static String scalar(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what);
            }
            Thread.sleep(20);
        }
    }

    private BooleanSupplier waitingClients(int n) {
        return () -> {
            try {
                return show("POOLS").row("database", "app").get("cl_waiting").equals(String.valueOf(n));
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        };
    }

    @Test
    void pauseMakesNewTransactionsWaitAndResumeReleasesThem() throws Exception {
        try (Connection c = pgloom.connect()) {
            assertEquals("1", scalar(c, "SELECT 1"));
            assertEquals("PAUSE", command("PAUSE"));
            assertEquals("yes", show("STATE").row("key", "paused").get("value"));
            assertEquals("1", show("DATABASES").row("name", "app").get("paused"));
            assertEquals(List.of(), show("SERVERS").where("database", "app"), "PAUSE returns once the servers are closed");
            CompletableFuture<String> query = CompletableFuture.supplyAsync(() -> {
                try {
                    return scalar(c, "SELECT 42");
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            await("the query to wait", waitingClients(1));
            assertFalse(query.isDone());
            assertEquals("ERROR:already suspended/paused", "ERROR:" + error("PAUSE"));
            assertEquals("RESUME", command("RESUME"));
            assertEquals("42", query.get(30, TimeUnit.SECONDS));
            assertEquals("no", show("STATE").row("key", "paused").get("value"));
            assertEquals("pooler is not paused/suspended", error("RESUME"));
        }
    }

    @Test
    void pauseWaitsForAnOpenTransactionToFinish() throws Exception {
        try (Connection c = pgloom.connect(); RawClient second = new RawClient(pgloom.port()).login("postgres", "postgres", "pgbouncer")) {
            c.setAutoCommit(false);
            assertEquals("1", scalar(c, "SELECT 1"));
            CompletableFuture<String> pause = CompletableFuture.supplyAsync(() -> {
                try {
                    return tag(second.simpleQuery("PAUSE app"));
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            await("app to show as paused", () -> {
                try {
                    return show("DATABASES").row("name", "app").get("paused").equals("1");
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            // The transaction goes on on its server while PAUSE waits for it.
            assertEquals("2", scalar(c, "SELECT 2"));
            assertEquals(1, show("SERVERS").where("database", "app").size());
            assertFalse(pause.isDone(), "PAUSE must wait for the open transaction");
            c.commit();
            assertEquals("PAUSE", pause.get(30, TimeUnit.SECONDS));
            assertEquals(List.of(), show("SERVERS").where("database", "app"));
            assertEquals("no", show("STATE").row("key", "paused").get("value"), "only app is paused");
            assertEquals("RESUME", command("RESUME app"));
            assertEquals("database app is not paused", error("RESUME app"));
            assertEquals("3", scalar(c, "SELECT 3"));
        }
    }

    @Test
    void reconnectReplacesServersWithoutFailingClientsAndWaitCloseWaitsForThem() throws Exception {
        try (Connection idle = pgloom.connect(); Connection inTx = pgloom.connect()) {
            int idlePid = backendPid(idle);
            inTx.setAutoCommit(false);
            int txPid = backendPid(inTx);
            assertEquals("RECONNECT", command("RECONNECT"));
            assertNotEquals(idlePid, backendPid(idle), "an idle server is replaced at once");
            assertEquals(txPid, backendPid(inTx), "a server in a transaction stays until the transaction ends");
            assertEquals("1", show("SERVERS").row("remote_pid", String.valueOf(txPid)).get("close_needed"));
            try (RawClient second = new RawClient(pgloom.port()).login("postgres", "postgres", "pgbouncer")) {
                CompletableFuture<String> waitClose = CompletableFuture.supplyAsync(() -> {
                    try {
                        return tag(second.simpleQuery("WAIT_CLOSE app"));
                    } catch (IOException e) {
                        throw new RuntimeException(e);
                    }
                });
                assertEquals(txPid, backendPid(inTx));
                assertFalse(waitClose.isDone(), "WAIT_CLOSE waits while the old server is open");
                inTx.commit();
                assertEquals("WAIT_CLOSE", waitClose.get(30, TimeUnit.SECONDS));
            }
            assertEquals(List.of(), show("SERVERS").where("remote_pid", String.valueOf(txPid)));
            assertNotEquals(txPid, backendPid(inTx));
            assertEquals("WAIT_CLOSE", command("WAIT_CLOSE"));
        }
    }

    @Test
    void killDropsTheClientsOfThatDatabaseOnlyAndPausesIt() throws Exception {
        try (Connection app = pgloom.connect(); Connection other = pgloom.connect("postgres", "alice", "alice-secret")) {
            assertEquals("1", scalar(app, "SELECT 1"));
            assertEquals("1", scalar(other, "SELECT 1"));
            assertEquals("KILL", command("KILL app"));
            SQLException e = assertThrows(SQLException.class, () -> scalar(app, "SELECT 1"));
            assertTrue(e.getSQLState().startsWith("08"), e.getSQLState() + " " + e.getMessage());
            assertEquals("2", scalar(other, "SELECT 2"));
            assertEquals("1", show("DATABASES").row("name", "app").get("paused"));
            assertEquals("RESUME", command("RESUME app"));
            try (Connection again = pgloom.connect()) {
                assertEquals("3", scalar(again, "SELECT 3"));
            }
            assertEquals("cannot kill admin db: pgbouncer", error("KILL pgbouncer"));
        }
    }

    @Test
    void killWithoutADatabaseDropsEveryClientButTheConsoleAndPausesAll() throws Exception {
        try (Connection app = pgloom.connect(); Connection other = pgloom.connect("postgres", "alice", "alice-secret")) {
            assertEquals("1", scalar(app, "SELECT 1"));
            assertEquals("1", scalar(other, "SELECT 1"));
            assertEquals("KILL", command("KILL"));
            assertThrows(SQLException.class, () -> scalar(app, "SELECT 1"));
            assertThrows(SQLException.class, () -> scalar(other, "SELECT 1"));
            assertEquals("yes", show("STATE").row("key", "paused").get("value"), "KILL pauses every database");
            assertEquals("RESUME", command("RESUME"));
            try (Connection again = pgloom.connect()) {
                assertEquals("3", scalar(again, "SELECT 3"));
            }
        }
    }

    @Test
    void showSocketsListsClientsAndServersNumberedInOneSequence() throws Exception {
        Properties props = new Properties();
        props.setProperty("ApplicationName", "socket-test");
        try (Connection app = pgloom.connect(props)) {
            app.setAutoCommit(false);
            assertEquals("1", scalar(app, "SELECT 1"), "a transaction holds a server");
            ConsoleResult sockets = show("SOCKETS");
            List<Map<String, String>> clients = sockets.where("type", "C").stream()
                    .filter(r -> r.get("application_name").equals("socket-test")).toList();
            assertEquals(1, clients.size(), sockets.toString());
            Map<String, String> client = clients.getFirst();
            Map<String, String> server = sockets.row("link", client.get("ptr"));
            assertEquals("S", server.get("type"));
            assertEquals(client.get("link"), server.get("ptr"));
            assertTrue(Integer.parseInt(server.get("id")) > Integer.parseInt(client.get("id")),
                    "one count for clients and servers, in the order they came: " + client + " " + server);
            assertEquals(show("SERVERS").row("ptr", server.get("ptr")).get("id"), server.get("id"), "SHOW SERVERS' id");
            assertEquals("0", server.get("pkt_avail"));
            ConsoleResult active = show("ACTIVE_SOCKETS");
            assertEquals(client.get("id"), active.row("ptr", client.get("ptr")).get("id"));
            app.commit();
        }
        assertEquals(List.of(), show("DNS_HOSTS").where("hostname", "localhost"), "pgloom keeps no DNS cache");
    }

    @Test
    void killClientClosesExactlyThatClient() throws Exception {
        Properties a = new Properties();
        a.setProperty("ApplicationName", "victim");
        Properties b = new Properties();
        b.setProperty("ApplicationName", "bystander");
        try (Connection victim = pgloom.connect(a); Connection bystander = pgloom.connect(b)) {
            assertEquals("1", scalar(victim, "SELECT 1"));
            assertEquals("1", scalar(bystander, "SELECT 1"));
            String id = show("CLIENTS").row("application_name", "victim").get("id");
            assertEquals("KILL_CLIENT", command("KILL_CLIENT " + id));
            SQLException e = assertThrows(SQLException.class, () -> scalar(victim, "SELECT 1"));
            assertTrue(e.getSQLState().startsWith("08"), e.getSQLState() + " " + e.getMessage());
            assertEquals("2", scalar(bystander, "SELECT 2"));
            assertEquals(List.of(), show("CLIENTS").where("application_name", "victim"));
            assertEquals("client not found", error("KILL_CLIENT " + id));
            assertEquals("invalid client pointer supplied", error("KILL_CLIENT abc"));
        }
    }

    @Test
    void disableRefusesNewLoginsAndEnableAllowsThemAgain() throws Exception {
        try (Connection existing = pgloom.connect()) {
            assertEquals("DISABLE", command("DISABLE app"));
            assertEquals("1", show("DATABASES").row("name", "app").get("disabled"));
            SQLException refused = assertThrows(SQLException.class, () -> pgloom.connect().close());
            assertEquals("08P01", refused.getSQLState());
            assertTrue(refused.getMessage().contains("database \"app\" is disabled"), refused.getMessage());
            assertEquals("1", scalar(existing, "SELECT 1"), "clients already in go on");
            assertEquals("ENABLE", command("ENABLE app"));
            try (Connection again = pgloom.connect()) {
                assertEquals("2", scalar(again, "SELECT 2"));
            }
            assertEquals("a database is required", error("DISABLE"));
            assertEquals("no such database: nosuch", error("ENABLE nosuch"));
        }
    }

    @Test
    void setChangesAReloadableSettingAndRefusesOthersWithAReason() throws Exception {
        assertEquals("SET query_wait_timeout=1", command("SET query_wait_timeout = 1"));
        assertEquals("1", show("CONFIG").row("key", "query_wait_timeout").get("value"));
        // Behaviour: a transaction waiting on a paused database now gives up after one second.
        assertEquals("PAUSE", command("PAUSE app"));
        try (Connection c = pgloom.connect("postgres", "alice", "alice-secret")) {
            assertEquals("1", scalar(c, "SELECT 1"), "only app is paused");
        }
        SQLException e = assertThrows(SQLException.class, () -> {
            try (Connection c = pgloom.connect()) {
                scalar(c, "SELECT 1");
            }
        });
        assertTrue(e.getMessage().contains("query_wait_timeout"), e.getMessage());
        assertEquals("RESUME", command("RESUME app"));

        String refused = error("SET listen_port = 7000");
        assertTrue(refused.startsWith("SET failed: listen_port cannot be changed while pgloom runs"), refused);
        assertEquals("0", show("CONFIG").row("key", "listen_port").get("value"));
        assertTrue(error("SET nosuch = 1").startsWith("SET failed: unknown setting"));
        assertTrue(error("SET query_wait_timeout = abc").startsWith("SET failed: invalid value"));
        // A setting with no effect in pgloom is taken, for scripts that set it (the log says why it changes nothing).
        assertEquals("SET sbuf_loopcnt=10", command("SET sbuf_loopcnt = 10"));
        assertEquals("10", show("CONFIG").row("key", "sbuf_loopcnt").get("value"));
        // A setting pgloom does not have yet is refused with a reason.
        assertTrue(error("SET auth_ldap_options = 'base=dc=example'").contains("not supported by pgloom yet"));
        assertEquals("SET server_tls_sslmode=disable", command("SET server_tls_sslmode = disable"));
    }

    @Test
    void reloadPicksUpAnEditedIni() throws Exception {
        String ini = Files.readString(pgloom.ini);
        Files.writeString(pgloom.ini, ini + "\nquery_wait_timeout = 77\n");
        assertEquals("RELOAD", command("RELOAD"));
        assertEquals("77", show("CONFIG").row("key", "query_wait_timeout").get("value"));
        Files.writeString(pgloom.ini, ini + "\nno_such_line_without_equals\n");
        assertTrue(error("RELOAD", "F0000").startsWith("RELOAD failed, see logs"), "config_file_error, as PgBouncer");
        assertEquals("77", show("CONFIG").row("key", "query_wait_timeout").get("value"), "the running config is kept");
    }

    @Test
    void shutdownWaitForClientsLetsAClientFinishItsTransaction() throws Exception {
        try (Connection c = pgloom.connect()) {
            c.setAutoCommit(false);
            assertEquals("1", scalar(c, "SELECT 1"));
            assertEquals("SHUTDOWN", command("SHUTDOWN WAIT_FOR_CLIENTS"));
            await("new connections to be refused", () -> {
                try (Connection refused = pgloom.connect()) {
                    return false;
                } catch (SQLException e) {
                    return true;
                }
            });
            assertEquals("pooler is shutting down", error("RESUME"), "as PgBouncer: no RESUME once a shutdown began");
            assertEquals("2", scalar(c, "SELECT 2"));
            c.commit();
            assertEquals("3", scalar(c, "SELECT 3"));
            c.commit();
            assertFalse(pgloom.server.isClosed(), "the server waits while a client is connected");
        }
        await("the server to stop", pgloom.server::isClosed);
        assertThrows(IOException.class, () -> new RawClient(pgloom.port()).login("alice", "alice-secret", "app"));
    }

    @Test
    void shutdownStopsTheServerNow() throws Exception {
        try (Connection c = pgloom.connect()) {
            assertEquals("1", scalar(c, "SELECT 1"));
            assertEquals("SHUTDOWN", command("SHUTDOWN"));
            await("the server to stop", pgloom.server::isClosed);
            assertThrows(SQLException.class, () -> scalar(c, "SELECT 1"));
        }
    }

    @Test
    void reloadOfAChangedConnectionStringReplacesServersAndWaitCloseWaitsForThem() throws Exception {
        try (Connection inTx = pgloom.connect()) {
            inTx.setAutoCommit(false);
            int pid = backendPid(inTx);
            String ini = Files.readString(pgloom.ini);
            String changed = ini.replace("dbname=app\n", "dbname=app connect_query='SELECT 1'\n");
            assertNotEquals(ini, changed);
            Files.writeString(pgloom.ini, changed);
            assertEquals("RELOAD", command("RELOAD"));
            assertEquals("1", show("SERVERS").row("remote_pid", String.valueOf(pid)).get("close_needed"));
            CompletableFuture<String> waitClose = CompletableFuture.supplyAsync(() -> {
                try {
                    return tag(admin.simpleQuery("WAIT_CLOSE"));
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            assertEquals(pid, backendPid(inTx), "the transaction keeps its server");
            assertFalse(waitClose.isDone());
            inTx.commit();
            assertEquals("WAIT_CLOSE", waitClose.get(30, TimeUnit.SECONDS));
            assertNotEquals(pid, backendPid(inTx));
        }
    }

    @Test
    void shutdownWaitForServersClosesAWaitingClientAndLetsTheHolderGoOn() throws Exception {
        command("SET default_pool_size = 1");
        try (RawClient holder = new RawClient(pgloom.port()).login("alice", "alice-secret", "app");
                RawClient waiter = new RawClient(pgloom.port()).login("alice", "alice-secret", "app")) {
            holder.simpleQuery("BEGIN");
            assertEquals("1", RawClient.firstValue(holder.simpleQuery("SELECT 1")));
            waiter.send(RawClient.query("SELECT 1"));
            await("the waiter to wait", () -> pgloom.server.pooler().describePools().stream().anyMatch(d -> d.contains("waiting=1")));
            assertEquals("SHUTDOWN", command("SHUTDOWN WAIT_FOR_SERVERS"));
            assertEquals("57P01", waiter.readError().sqlState(), "a client waiting for a server is sent away");
            assertEquals("2", RawClient.firstValue(holder.simpleQuery("SELECT 2")), "the open transaction goes on");
            assertFalse(pgloom.server.isClosed(), "a server is still in a transaction");
            holder.simpleQuery("COMMIT");
            await("the server to stop", pgloom.server::isClosed);
        }
    }

    @Test
    void shutdownWaitForServersLetsATransactionFinishThenClosesItsClient() throws Exception {
        try (Connection inTx = pgloom.connect(); Connection idle = pgloom.connect()) {
            assertEquals("1", scalar(idle, "SELECT 1"));
            inTx.setAutoCommit(false);
            assertEquals("1", scalar(inTx, "SELECT 1"));
            assertEquals("SHUTDOWN", command("SHUTDOWN WAIT_FOR_SERVERS"));
            // The shutdown runs once the reply is out (a query may slip in before); from then on an
            // idle client is closed when it asks for a server, as PgBouncer closes it.
            String[] refusal = new String[1];
            await("the idle client to be closed", () -> {
                try {
                    scalar(idle, "SELECT 2");
                    return false;
                } catch (SQLException e) {
                    refusal[0] = e.getSQLState() + " " + e.getMessage();
                    return true;
                }
            });
            assertEquals("57P01 FATAL: server shutting down (pgloom is stopping)", refusal[0]);
            assertEquals("2", scalar(inTx, "SELECT 2"));
            assertFalse(pgloom.server.isClosed(), "a server is still in a transaction");
            inTx.commit();
            await("the server to stop", pgloom.server::isClosed);
            assertThrows(SQLException.class, () -> scalar(inTx, "SELECT 3"));
        }
    }
}
