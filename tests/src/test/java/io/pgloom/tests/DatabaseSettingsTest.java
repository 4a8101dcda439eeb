package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.wire.protocol.MessageBuilder;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * [databases] entry parameters and the server-side settings a PgBouncer user relies on:
 * connect_query, the {@code *} fallback, per-database startup values, max_user_connections,
 * query_timeout, server_reset_query_always, server_login_retry and server_connect_timeout, and
 * an entry's own server_lifetime and application_name.
 */
class DatabaseSettingsTest {

    private static String one(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static String entry(String name, String params) {
        TestPostgres.Endpoint pg = TestPostgres.shared();
        return name + " = host=" + pg.host() + " port=" + pg.port() + " " + params + "\n";
    }

    @Test
    void resetQueryAlwaysRunsAfterEveryTransactionInTransactionMode() throws Exception {
        String settings = "default_pool_size = 1\nserver_reset_query = RESET ALL\n";
        try (Pgloom p = Pgloom.start("transaction", settings + "server_reset_query_always = 1\n");
                Connection c = p.connect()) {
            one(c, "SELECT set_config('work_mem', '1234kB', false)");
            assertEquals("4MB", one(c, "SHOW work_mem"), "PgBouncer resets after each transaction when told to always reset");
        }
        try (Pgloom p = Pgloom.start("transaction", settings + "server_reset_query_always = 0\n");
                Connection c = p.connect()) {
            one(c, "SELECT set_config('work_mem', '1234kB', false)");
            assertEquals("1234kB", one(c, "SHOW work_mem"), "without it, transaction mode runs no reset");
        }
    }

    @Test
    void anEntrysServerLifetimeOverridesTheGlobalOne() throws Exception {
        // As test.ini's p9 (server_lifetime=2) and test_server_lifetime_per_pool.
        try (Pgloom p = Pgloom.start("transaction", "server_lifetime = 3600\nadmin_users = alice\n",
                entry("short", "dbname=app server_lifetime=1"));
                RawClient shortLived = new RawClient(p.port()).login("alice", "alice-secret", "short");
                RawClient longLived = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            String shortFirst = RawClient.firstValue(shortLived.simpleQuery("SELECT pg_backend_pid()"));
            String longFirst = RawClient.firstValue(longLived.simpleQuery("SELECT pg_backend_pid()"));
            Thread.sleep(2500); // past 1 s, and maintenance (once a second) closed the idle server
            assertTrue(!shortFirst.equals(RawClient.firstValue(shortLived.simpleQuery("SELECT pg_backend_pid()"))),
                    "the entry's server_lifetime=1 replaced its server");
            assertEquals(longFirst, RawClient.firstValue(longLived.simpleQuery("SELECT pg_backend_pid()")),
                    "other entries keep the global server_lifetime");
            try (RawClient console = new RawClient(p.port()).login("alice", "alice-secret", "pgbouncer")) {
                ConsoleResult databases = ConsoleResult.query(console, "SHOW DATABASES");
                assertEquals("1", databases.row("name", "short").get("server_lifetime"));
                assertEquals("3600", databases.row("name", "app").get("server_lifetime"));
            }
        }
    }

    @Test
    void anEntrysApplicationNameIsTheDefaultForClientsThatSetNone() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "", entry("named", "dbname=app application_name=from-entry"));
                RawClient plain = new RawClient(p.port()).login("alice", "alice-secret", "named");
                RawClient own = new RawClient(p.port()).login("bob", "bob-secret", "named",
                        Map.of("application_name", "mine"))) {
            assertEquals("from-entry", RawClient.firstValue(plain.simpleQuery("SHOW application_name")));
            assertEquals("mine", RawClient.firstValue(own.simpleQuery("SHOW application_name")),
                    "a client's own application_name wins");
        }
    }

    @Test
    void disablePqexecRefusesTheSimpleQueryProtocolAndLetsTheExtendedOneThrough() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "disable_pqexec = 1\n");
                RawClient extended = new RawClient(p.port()).login("bob", "bob-secret", "app");
                RawClient simple = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            // (pgjdbc cannot log in here: its setup sends a simple-protocol SET.)
            extended.send(RawClient.concat(PreparedStatementsTest.parse("", "SELECT 1 + 1"), PreparedStatementsTest.bind(""),
                    PreparedStatementsTest.execute(), PreparedStatementsTest.sync()));
            assertEquals("2", RawClient.firstValue(extended.readUntil('Z')), "Parse/Bind/Execute/Sync pass");
            simple.send(RawClient.query("SELECT 1; SELECT 2"));
            var e = simple.readError();
            assertEquals("FATAL", e.severity());
            assertEquals("08P01", e.sqlState());
            assertEquals("PQexec disallowed", e.message(), "PgBouncer's words");
            assertTrue(simple.closedByPeer());
        }
    }

    @Test
    void trackExtraParametersFollowEachClientAcrossASharedServer() throws Exception {
        // As test.ini (track_extra_parameters = search_path, intervalstyle) and test_track_extra_parameters.
        try (Pgloom p = Pgloom.start("transaction", "default_pool_size = 1\ntrack_extra_parameters = search_path, intervalstyle\n");
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app", Map.of("search_path", "a_schema"));
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app", Map.of("search_path", "public"))) {
            String pid = RawClient.firstValue(a.simpleQuery("SELECT pg_backend_pid()"));
            assertEquals(pid, RawClient.firstValue(b.simpleQuery("SELECT pg_backend_pid()")), "one server, taken in turn");
            b.simpleQuery("SET IntervalStyle = 'sql_standard'");
            assertEquals("a_schema", RawClient.firstValue(a.simpleQuery("SHOW search_path")), "its startup value");
            assertEquals("postgres", RawClient.firstValue(a.simpleQuery("SHOW IntervalStyle")), "not b's");
            assertEquals("sql_standard", RawClient.firstValue(b.simpleQuery("SHOW IntervalStyle")));
            // PostgreSQL 15 does not report search_path, so (as with PgBouncer) only startup values follow.
            assertEquals("public", RawClient.firstValue(b.simpleQuery("SHOW search_path")));
        }
        try (Pgloom p = Pgloom.start("transaction", "track_extra_parameters = IntervalStyle\n")) {
            RawClient.LoginFailed e = assertThrows(RawClient.LoginFailed.class, () -> new RawClient(p.port())
                    .login("alice", "alice-secret", "app", Map.of("search_path", "a_schema")));
            assertEquals("unsupported startup parameter: search_path", e.error.message(), "untracked: refused as PgBouncer does");
        }
    }

    @Test
    void settingsInTheOptionsStartupParameterFollowTheClient() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "default_pool_size = 1\n");
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app",
                        Map.of("options", "-c timezone=Europe/Lisbon --datestyle=German,\\ YMD"));
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app",
                        Map.of("options", "-c DateStyle=ISO,\\ DMY"))) {
            assertEquals("Europe/Lisbon", RawClient.firstValue(a.simpleQuery("SHOW timezone")));
            assertEquals("German, YMD", RawClient.firstValue(a.simpleQuery("SHOW datestyle")));
            assertEquals("ISO, DMY", RawClient.firstValue(b.simpleQuery("SHOW datestyle")), "b's own, on the same server");
            assertEquals("German, YMD", RawClient.firstValue(a.simpleQuery("SHOW datestyle")), "and a's again");
            RawClient.LoginFailed e = assertThrows(RawClient.LoginFailed.class, () -> new RawClient(p.port())
                    .login("alice", "alice-secret", "app", Map.of("options", "-c enable_seqscan=off")));
            assertEquals("unsupported startup parameter in options: enable_seqscan", e.error.message());
            assertEquals("1", RawClient.firstValue(b.simpleQuery("SELECT 1")), "the others go on");
        }
    }

    @Test
    void serverFastCloseEndsSessionsOnReconnectBetweenTheirTransactions() throws Exception {
        // As test_fast_close: session mode, RECONNECT; without server_fast_close sessions keep their servers.
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
                Pgloom p = Pgloom.start("session", "server_fast_close = 1\nadmin_users = postgres\n");
                RawClient idle = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient inTx = new RawClient(p.port()).login("bob", "bob-secret", "app");
                RawClient console = new RawClient(p.port()).login("postgres", "postgres", "pgbouncer")) {
            idle.simpleQuery("SELECT 1");
            inTx.simpleQuery("BEGIN");
            assertEquals(null, ConsoleResult.query(console, "RECONNECT app").error());
            var e = idle.readError();
            assertEquals("08006", e.sqlState());
            assertTrue(e.message().contains("server closed the connection"), e.message());
            assertTrue(idle.closedByPeer());
            // PgBouncer's words, which its test_fast_close looks for, RECONNECT or not.
            log.await("for the fast close's reason", l -> l.contains("app/alice: closing because: database configuration changed"));
            assertEquals("1", RawClient.firstValue(inTx.simpleQuery("SELECT 1")), "a transaction is let finish");
            inTx.simpleQuery("COMMIT");
            assertTrue(inTx.readError().message().contains("server closed the connection"), "then the session ends");
        }
        try (Pgloom p = Pgloom.start("session", "admin_users = postgres\n");
                RawClient idle = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient console = new RawClient(p.port()).login("postgres", "postgres", "pgbouncer")) {
            String pid = RawClient.firstValue(idle.simpleQuery("SELECT pg_backend_pid()"));
            assertEquals(null, ConsoleResult.query(console, "RECONNECT app").error());
            assertEquals(pid, RawClient.firstValue(idle.simpleQuery("SELECT pg_backend_pid()")),
                    "without server_fast_close the session keeps its server until it leaves");
        }
    }

    @Test
    void connectQueryRunsOnEveryNewServerConnection() throws Exception {
        String db = entry("cq", "dbname=app connect_query='SELECT set_config(''work_mem'', ''2345kB'', false)'");
        try (Pgloom p = Pgloom.start("transaction", "", db);
                Connection c = p.connect("cq", "alice", "alice-secret")) {
            assertEquals("2345kB", one(c, "SHOW work_mem"));
            assertEquals("app", one(c, "SELECT current_database()"));
        }
    }

    @Test
    void fallbackEntryServesDatabasesNotListed() throws Exception {
        TestPostgres.Endpoint pg = TestPostgres.shared();
        String ini = """
                [databases]
                * = host=%s port=%d
                [pgbouncer]
                %s
                """.formatted(pg.host(), pg.port(), Pgloom.baseSettings("transaction"));
        try (Pgloom p = Pgloom.startWith(ini, Pgloom.defaultUserlist());
                Connection c = p.connect("app", "alice", "alice-secret")) {
            assertEquals("app", one(c, "SELECT current_database()"), "the client's database name goes to the server");
        }
    }

    @Test
    void databaseEntryStartupValuesReachServerAndClient() throws Exception {
        String db = entry("tz", "dbname=app timezone=Asia/Tokyo datestyle='SQL, DMY'");
        try (Pgloom p = Pgloom.start("transaction", "", db);
                RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "tz")) {
            assertEquals("Asia/Tokyo", c.parameters.get("TimeZone"), "the login reply carries the entry's value");
            assertEquals("SQL, DMY", c.parameters.get("DateStyle"));
            assertEquals("Asia/Tokyo", RawClient.firstValue(c.simpleQuery("SHOW TimeZone")));
        }
    }

    @Test
    void maxUserConnectionsCapsServersPerUser() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "max_user_connections = 1\nquery_wait_timeout = 1\n");
                RawClient holder = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient waiter = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient bob = new RawClient(p.port()).login("bob", "bob-secret", "app")) {
            holder.simpleQuery("BEGIN");
            waiter.send(RawClient.query("SELECT 1"));
            var e = waiter.readError();
            assertEquals("08P01", e.sqlState());
            assertEquals("query_wait_timeout", e.message(), "alice's one server is taken, though the pool has room for 5");
            assertEquals("1", RawClient.firstValue(bob.simpleQuery("SELECT 1")), "bob is not limited by alice's cap");
            holder.simpleQuery("COMMIT");
        }
    }

    @Test
    void queryTimeoutEndsTheClientAndFreesThePool() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "default_pool_size = 1\nquery_timeout = 1\n");
                Connection slow = p.connect()) {
            SQLException e = assertThrows(SQLException.class, () -> one(slow, "SELECT pg_sleep(60)"));
            assertEquals("57014", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("query timeout"), e.getMessage());
            try (Connection next = p.connect()) {
                assertEquals("ok", one(next, "SELECT 'ok'"), "the pool's one server slot is usable again");
            }
        }
    }

    @Test
    void unreachableServerIsRetriedAndUsedOnceItIsBack() throws Exception {
        int port = TcpForwarder.freePort();
        String db = "late = host=127.0.0.1 port=" + port + " dbname=app\n";
        try (Pgloom p = Pgloom.start("transaction", "query_wait_timeout = 2\nserver_login_retry = 1\n", db);
                Connection other = p.connect()) {
            SQLException e = assertThrows(SQLException.class, () -> p.connect("late", "alice", "alice-secret"));
            assertTrue(e.getMessage().contains("query_wait_timeout"), "a client waits for the server, then gets: " + e.getMessage());
            assertEquals("1", one(other, "SELECT 1"), "other pools are unaffected");
            try (TcpForwarder f = new TcpForwarder(port, TestPostgres.shared().port())) {
                String got = null;
                for (int i = 0; i < 30 && got == null; i++) {
                    try (Connection c = p.connect("late", "alice", "alice-secret")) {
                        got = one(c, "SELECT current_database()");
                    } catch (SQLException retry) {
                        Thread.sleep(500);
                    }
                }
                assertEquals("app", got, "after server_login_retry the server is tried again and used");
                assertTrue(f.accepted.get() > 0);
            }
        }
    }

    @Test
    void serverThatNeverAnswersLoginIsDroppedAfterServerConnectTimeout() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            String db = "silent = host=127.0.0.1 port=" + silent.getLocalPort() + " dbname=app\n";
            try (Pgloom p = Pgloom.start("transaction", "server_connect_timeout = 1\nquery_wait_timeout = 30\n", db)) {
                Thread client = Thread.ofVirtual().start(() -> {
                    try (Connection c = p.connect("silent", "alice", "alice-secret")) {
                        c.isValid(1);
                    } catch (SQLException expected) {
                        // the server never logs in; this client gives up when the test ends
                    }
                });
                silent.setSoTimeout(30_000);
                try (Socket held = silent.accept()) {
                    held.setSoTimeout(30_000);
                    InputStream in = held.getInputStream();
                    java.io.DataInputStream data = new java.io.DataInputStream(in);
                    // server_tls_sslmode = prefer (the default): an SSLRequest first; 'N' lets pgloom go on in plain text.
                    assertEquals(8, data.readInt());
                    assertEquals(80877103, data.readInt());
                    held.getOutputStream().write('N');
                    int length = data.readInt();
                    assertTrue(length > 8, "pgloom sent a startup packet");
                    in.skipNBytes(length - 4);
                    // Say nothing: pgloom must give up on this login and close the socket.
                    assertEquals(-1, in.read(), "pgloom closed the silent server connection");
                }
                client.interrupt();
            }
        }
    }

    @Test
    void sslRequestIsDeclinedAndNewerProtocolVersionsAreNegotiated() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "");
                RawClient c = new RawClient(p.port())) {
            c.send(new MessageBuilder().int32(80877103).build());
            assertEquals('N', c.socket.getInputStream().read(), "client_tls_sslmode defaults to disable: the client may go on in plain text");
        }
        try (Pgloom p = Pgloom.start("transaction", "");
                RawClient c = new RawClient(p.port())) {
            MessageBuilder startup = new MessageBuilder().int32((3 << 16) | 2)
                    .cstring("user").cstring("alice").cstring("database").cstring("app")
                    .cstring("_pq_.some_option").cstring("x");
            c.send(startup.byte1(0).build());
            RawClient.Message v = c.read();
            assertEquals('v', v.type(), "NegotiateProtocolVersion first");
            assertEquals(3 << 16, java.nio.ByteBuffer.wrap(v.body()).getInt(), "3.0 is the newest pgloom speaks, sent as PostgreSQL does");
            List<RawClient.Message> rest = c.readUntil('R');
            assertEquals('R', rest.getLast().type(), "then authentication goes on");
        }
    }
}
