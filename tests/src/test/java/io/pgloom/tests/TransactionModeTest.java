package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.wire.protocol.MessageBuilder;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** When a server is released and when it must not be, with a pool of one server. */
class TransactionModeTest {

    private static final String ONE_SERVER = "default_pool_size = 1\n";

    @BeforeAll
    static void table() throws Exception {
        TestPostgres.execute("app", "CREATE TABLE IF NOT EXISTS txm (id int, who text)");
        TestPostgres.execute("app", "GRANT ALL ON txm TO alice");
        TestPostgres.execute("app", "CREATE TABLE IF NOT EXISTS fifo (id int, at timestamptz DEFAULT clock_timestamp())");
        TestPostgres.execute("app", "GRANT ALL ON fifo TO alice");
    }

    private static String pid(RawClient c) throws Exception {
        return RawClient.firstValue(c.simpleQuery("SELECT pg_backend_pid()"));
    }

    @Test
    void serverIsSharedBetweenTransactions() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER);
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            assertEquals(pid(a), pid(b), "one pool server serves both clients in turn");
            assertNotEquals(a.backendPid, b.backendPid, "each client has its own cancel key");
        }
    }

    @Test
    void serverIsBackInThePoolBeforeTheClientSeesReadyForQuery() throws Exception {
        // Room for more servers: if b's query ever arrived before a's server was released, the
        // pool would open a second one. PgBouncer's single thread never does; pgloom must not either.
        try (Pgloom p = Pgloom.start("transaction", "default_pool_size = 3\n");
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            String only = pid(a);
            for (int i = 0; i < 300; i++) {
                assertEquals(only, pid(a), "round " + i);
                assertEquals(only, pid(b), "round " + i + ": b asked right after a saw ReadyForQuery");
            }
        }
    }

    @Test
    void openTransactionKeepsTheServerUntilCommitAndErrorsUntilRollback() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER + "query_wait_timeout = 30\n");
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            a.simpleQuery("BEGIN");
            List<RawClient.Message> failed = a.simpleQuery("SELECT 1/0");
            assertEquals('E', failed.getLast().body()[0], "ReadyForQuery says: failed transaction");
            b.send(RawClient.query("SELECT 'b ran'"));
            b.socket.setSoTimeout(700);
            assertThrows(java.net.SocketTimeoutException.class, b::read, "b waits while a's failed transaction holds the server");
            b.socket.setSoTimeout(20_000);
            a.simpleQuery("ROLLBACK");
            assertEquals("b ran", RawClient.firstValue(b.readUntil('Z')));
        }
    }

    @Test
    void extendedQueryWithoutSyncKeepsTheServer() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER);
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            byte[] parse = new MessageBuilder('P').cstring("").cstring("SELECT pg_backend_pid()").int16(0).build();
            byte[] bind = new MessageBuilder('B').cstring("").cstring("").int16(0).int16(0).int16(0).build();
            byte[] execute = new MessageBuilder('E').cstring("").int32(0).build();
            byte[] flush = new MessageBuilder('H').build();
            a.send(RawClient.concat(parse, bind, execute, flush));
            List<RawClient.Message> partial = a.readUntil('C');
            assertTrue(partial.stream().anyMatch(m -> m.type() == '1'), "ParseComplete");
            b.send(RawClient.query("SELECT 'b ran'"));
            b.socket.setSoTimeout(700);
            assertThrows(java.net.SocketTimeoutException.class, b::read, "no Sync yet: the server stays with a");
            b.socket.setSoTimeout(20_000);
            a.send(new MessageBuilder('S').build());
            assertEquals('Z', a.readUntil('Z').getLast().type());
            assertEquals("b ran", RawClient.firstValue(b.readUntil('Z')));
        }
    }

    @Test
    void clientThatDisconnectsMidTransactionLeavesNothingOpen() throws Exception {
        TestPostgres.execute("app", "DELETE FROM txm WHERE who = 'vanished'");
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER)) {
            RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
            a.simpleQuery("BEGIN");
            a.simpleQuery("INSERT INTO txm VALUES (1, 'vanished')");
            a.socket.setSoLinger(true, 0);
            a.close(); // abrupt: no Terminate, no COMMIT
            try (Connection c = p.connect(); Statement s = c.createStatement()) {
                ResultSet rs = s.executeQuery("SELECT count(*) FROM txm WHERE who = 'vanished'");
                rs.next();
                assertEquals(0, rs.getInt(1), "the open transaction was rolled back");
            }
            try (Connection d = TestPostgres.direct("app"); Statement s = d.createStatement()) {
                ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE datname = 'app' AND state LIKE 'idle in transaction%'");
                rs.next();
                assertEquals(0, rs.getInt(1), "no backend is left idle in transaction");
            }
        }
    }

    @Test
    void startupParametersFollowEachClient() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER);
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app",
                        Map.of("TimeZone", "UTC", "application_name", "client-a"));
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app",
                        Map.of("TimeZone", "Asia/Tokyo", "application_name", "client-b"))) {
            for (int i = 0; i < 3; i++) {
                assertEquals("UTC", RawClient.firstValue(a.simpleQuery("SHOW TimeZone")));
                assertEquals("client-a", RawClient.firstValue(a.simpleQuery("SHOW application_name")));
                assertEquals("Asia/Tokyo", RawClient.firstValue(b.simpleQuery("SHOW TimeZone")));
                assertEquals("client-b", RawClient.firstValue(b.simpleQuery("SHOW application_name")));
            }
            // A SET in one transaction follows the client too (ParameterStatus is tracked).
            a.simpleQuery("SET application_name = 'renamed-a'");
            assertEquals("client-b", RawClient.firstValue(b.simpleQuery("SHOW application_name")));
            assertEquals("renamed-a", RawClient.firstValue(a.simpleQuery("SHOW application_name")));
        }
    }

    @Test
    void statementModeRefusesTransactionBlocks() throws Exception {
        try (Pgloom p = Pgloom.start("statement", "");
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            assertEquals("1", RawClient.firstValue(a.simpleQuery("SELECT 1")));
            a.send(RawClient.query("BEGIN"));
            var error = a.readError();
            assertEquals("FATAL", error.severity());
            assertEquals("08P01", error.sqlState());
            assertEquals("transaction blocks not allowed in statement pooling mode", error.message());
            assertTrue(a.closedByPeer());
            try (RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
                assertEquals("2", RawClient.firstValue(b.simpleQuery("SELECT 2")), "the pool goes on serving");
            }
        }
    }

    @Test
    void sessionModeKeepsTheServerAndResetsItAfterward() throws Exception {
        try (Pgloom p = Pgloom.start("session", ONE_SERVER + "query_wait_timeout = 1\n")) {
            RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
            a.simpleQuery("SET work_mem = '7MB'");
            try (RawClient b = new RawClient(p.port())) {
                // b's login needs no server (the pool knows its welcome parameters), but its query does.
                b.login("alice", "alice-secret", "app");
                b.send(RawClient.query("SELECT 1"));
                var error = b.readError();
                assertEquals("query_wait_timeout", error.message());
                assertEquals("08P01", error.sqlState());
            }
            a.terminate();
            a.close();
            try (RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
                assertEquals("4MB", RawClient.firstValue(c.simpleQuery("SHOW work_mem")), "server_reset_query (DISCARD ALL) ran");
            }
        }
    }

    @Test
    void waitingClientsAreServedFirstComeFirstServed() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER + "query_wait_timeout = 60\n");
                RawClient holder = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            holder.simpleQuery("BEGIN");
            List<RawClient> waiters = new java.util.ArrayList<>();
            try {
                for (int i = 0; i < 5; i++) {
                    RawClient w = new RawClient(p.port()).login("alice", "alice-secret", "app");
                    waiters.add(w);
                    w.send(RawClient.query("INSERT INTO fifo (id) VALUES (" + i + ")"));
                    Thread.sleep(150); // each is surely queued before the next asks
                }
                TestPostgres.execute("app", "TRUNCATE fifo");
                holder.simpleQuery("COMMIT");
                for (RawClient w : waiters) {
                    w.readUntil('Z');
                }
                try (Connection c = TestPostgres.direct("app"); Statement s = c.createStatement();
                        ResultSet rs = s.executeQuery("SELECT string_agg(id::text, ',' ORDER BY at) FROM fifo")) {
                    rs.next();
                    assertEquals("0,1,2,3,4", rs.getString(1), "served in arrival order");
                }
            } finally {
                for (RawClient w : waiters) {
                    w.close();
                }
            }
        }
    }

    @Test
    void serverWithOpenTransactionIsNotHandedToAnotherClient() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER + "query_wait_timeout = 30\n");
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            a.simpleQuery("BEGIN");
            a.simpleQuery("SET LOCAL application_name = 'inside-a'");
            CompletableFuture<String> bSees = CompletableFuture.supplyAsync(() -> {
                try {
                    return RawClient.firstValue(b.simpleQuery("SELECT current_setting('application_name')"));
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            assertThrows(TimeoutException.class, () -> bSees.get(500, TimeUnit.MILLISECONDS));
            a.simpleQuery("COMMIT");
            assertFalse(bSees.get(20, TimeUnit.SECONDS).equals("inside-a"));
        }
    }
}
