package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.wire.protocol.MessageBuilder;
import java.io.IOException;
import java.math.BigInteger;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** SHOW POOLS, CLIENTS, SERVERS and the STATS family reflect what real clients do through pgloom. */
class AdminConsoleStatsTest {
    private static Pgloom pgloom;

    @BeforeAll
    static void start() throws Exception {
        pgloom = Pgloom.start("transaction", """
                admin_users = postgres
                stats_users = bob
                default_pool_size = 1
                stats_period = 1
                """);
    }

    @AfterAll
    static void stop() throws IOException {
        pgloom.close();
    }

    private static RawClient console() throws IOException {
        return new RawClient(pgloom.port()).login("bob", "bob-secret", "pgbouncer");
    }

    /** Polls {@code sql} on the console until a result satisfies {@code done}, for at most 30 s. */
    private static ConsoleResult await(RawClient console, String sql, Predicate<ConsoleResult> done) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        ConsoleResult r = ConsoleResult.query(console, sql);
        while (!done.test(r)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("gave up waiting on " + sql + "; last answer: " + r.rows());
            }
            Thread.sleep(50);
            r = ConsoleResult.query(console, sql);
        }
        return r;
    }

    private static int num(Map<String, String> row, String column) {
        return Integer.parseInt(row.get(column));
    }

    @Test
    void anOpenTransactionAndAWaitingClientShowInPoolsClientsAndServers() throws Exception {
        try (RawClient console = console();
             Connection holder = pgloom.connect("app", "alice", "alice-secret");
             RawClient waiter = new RawClient(pgloom.port()).login("alice", "alice-secret", "app")) {
            holder.setAutoCommit(false);
            try (Statement st = holder.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                assertTrue(rs.next());
            }
            // The transaction is open: its server stays linked (pool_size 1).
            Map<String, String> pool = ConsoleResult.query(console, "SHOW POOLS").row("database", "app");
            assertEquals("alice", pool.get("user"));
            assertEquals(1, num(pool, "sv_active"));
            assertEquals(2, num(pool, "cl_active"));
            assertEquals(0, num(pool, "cl_waiting"));
            assertEquals("transaction", pool.get("pool_mode"));
            ConsoleResult servers = ConsoleResult.query(console, "SHOW SERVERS");
            Map<String, String> server = servers.row("database", "app");
            assertEquals("active", server.get("state"));
            ConsoleResult clients = ConsoleResult.query(console, "SHOW CLIENTS");
            Map<String, String> linked = clients.row("link", server.get("ptr"));
            assertEquals("active", linked.get("state"));
            assertEquals("alice", linked.get("user"));
            assertEquals(2, clients.where("database", "app").size());
            assertEquals(1, clients.where("database", "pgbouncer").size(), "the console's own client is listed");

            // A second client's query must wait for the only server.
            waiter.send(RawClient.query("SELECT 2"));
            pool = await(console, "SHOW POOLS", r -> num(r.row("database", "app"), "cl_waiting") == 1).row("database", "app");
            assertEquals(1, num(pool, "cl_active"));
            Map<String, String> waiting = ConsoleResult.query(console, "SHOW CLIENTS").row("state", "waiting");
            assertEquals("app", waiting.get("database"));
            assertEquals("", waiting.get("link"));

            holder.commit(); // frees the server: the waiter gets it
            assertEquals("2", RawClient.firstValue(waiter.readUntil('Z')));
            pool = await(console, "SHOW POOLS", r -> num(r.row("database", "app"), "sv_idle") == 1).row("database", "app");
            assertEquals(0, num(pool, "cl_waiting"));
            assertEquals(0, num(pool, "sv_active"));
            assertEquals(2, num(pool, "cl_active"));
            assertEquals("idle", ConsoleResult.query(console, "SHOW SERVERS").row("database", "app").get("state"));
        }
    }

    @Test
    void statsTotalsCountTransactionsQueriesAndBytes() throws Exception {
        try (RawClient console = console()) {
            Map<String, String> before = totals(console);
            try (RawClient c = new RawClient(pgloom.port()).login("bob", "bob-secret", "postgres")) {
                for (int i = 0; i < 5; i++) {
                    assertEquals(String.valueOf(i), RawClient.firstValue(c.simpleQuery("SELECT " + i)));
                }
                c.simpleQuery("BEGIN");
                c.simpleQuery("SELECT 10");
                c.simpleQuery("COMMIT");
                // Extended protocol: Parse, Bind, Describe, Execute up to the Sync are one query.
                c.send(RawClient.concat(new MessageBuilder('P').cstring("").cstring("SELECT 20").int16(0).build(),
                        new MessageBuilder('B').cstring("").cstring("").int16(0).int16(0).int16(0).build(),
                        new MessageBuilder('D').byte1('P').cstring("").build(),
                        new MessageBuilder('E').cstring("").int32(0).build(),
                        new MessageBuilder('S').build()));
                assertEquals("20", RawClient.firstValue(c.readUntil('Z')));
            }
            Map<String, String> after = await(console, "SHOW STATS_TOTALS",
                    r -> delta(before, r.row("database", "postgres"), "xact_count") >= 7).row("database", "postgres");
            assertEquals(7, delta(before, after, "xact_count"), "5 autocommit queries, 1 transaction, 1 pgjdbc query");
            assertEquals(9, delta(before, after, "query_count"));
            assertEquals(1, delta(before, after, "client_login_count"));
            assertTrue(delta(before, after, "server_assignment_count") >= 7, after.toString());
            assertTrue(delta(before, after, "bytes_received") > 0, after.toString());
            assertTrue(delta(before, after, "bytes_sent") > 0, after.toString());
            assertTrue(delta(before, after, "query_time") > 0, after.toString());
            assertTrue(delta(before, after, "xact_time") >= delta(before, after, "query_time") / 2, after.toString());

            // SHOW STATS has the same totals under total_ names, and TOTALS adds every database up.
            Map<String, String> stats = ConsoleResult.query(console, "SHOW STATS").row("database", "postgres");
            assertEquals(after.get("xact_count"), stats.get("total_xact_count"));
            assertEquals(after.get("bytes_received"), stats.get("total_received"));
            ConsoleResult totals = ConsoleResult.query(console, "SHOW TOTALS");
            assertTrue(new BigInteger(totals.row("name", "total_xact_count").get("value"))
                    .compareTo(new BigInteger(after.get("xact_count"))) >= 0);
        }
    }

    private static Map<String, String> totals(RawClient console) throws IOException {
        ConsoleResult r = ConsoleResult.query(console, "SHOW STATS_TOTALS");
        return r.where("database", "postgres").isEmpty() ? Map.of() : r.row("database", "postgres");
    }

    private static long delta(Map<String, String> before, Map<String, String> after, String column) {
        return Long.parseLong(after.get(column)) - Long.parseLong(before.getOrDefault(column, "0"));
    }

    @Test
    void averagesFollowTheStatsPeriod() throws Exception {
        try (RawClient console = console(); RawClient c = new RawClient(pgloom.port()).login("alice", "alice-secret", "app")) {
            for (int i = 0; i < 20; i++) {
                c.simpleQuery("SELECT " + i);
            }
            // With stats_period = 1 the averages cover the last one to two seconds: first they show
            // the burst, then, with no traffic, they fall back to zero.
            await(console, "SHOW STATS_AVERAGES", r -> num(r.row("database", "app"), "xact_count") > 0);
            Map<String, String> quiet = await(console, "SHOW STATS_AVERAGES",
                    r -> num(r.row("database", "app"), "xact_count") == 0).row("database", "app");
            assertEquals(0, num(quiet, "query_count"));
            assertEquals(0, num(quiet, "query_time"), "no query in the window, so no average query time");
        }
    }
}
