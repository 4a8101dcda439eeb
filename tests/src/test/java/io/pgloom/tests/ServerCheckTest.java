package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * server_check_query and server_check_delay, seen from PostgreSQL: the check query is a SQL
 * function that records every successful run (tag, backend pid) in a table, and fails or hangs
 * when a "trouble" row names the backend (pid 0: every backend).
 *
 * <p>Clients take turns on one pool, so that every query goes through the pool: a client that
 * sends again right after its own answer may still hold its server, but a client whose turn it is
 * never does.
 */
class ServerCheckTest {

    /** Advisory lock the "hang" mode of the check waits for; the test holds it. */
    private static final int HANG_LOCK = 727_001;

    @BeforeAll
    static void schema() throws Exception {
        TestPostgres.execute("app", """
                CREATE TABLE IF NOT EXISTS check_runs (tag text, pid int);
                CREATE TABLE IF NOT EXISTS check_trouble (tag text, pid int, mode text);
                CREATE OR REPLACE FUNCTION check_server(t text) RETURNS int LANGUAGE plpgsql AS $$
                DECLARE m text;
                BEGIN
                    SELECT mode INTO m FROM check_trouble WHERE tag = t AND pid IN (0, pg_backend_pid()) LIMIT 1;
                    IF m = 'fail' THEN
                        RAISE EXCEPTION 'check_server: backend %% is marked bad', pg_backend_pid();
                    ELSIF m = 'hang' THEN
                        PERFORM pg_advisory_xact_lock_shared(%d);
                    END IF;
                    INSERT INTO check_runs VALUES (t, pg_backend_pid());
                    RETURN 1;
                END $$;
                GRANT ALL ON check_runs, check_trouble TO alice;
                """.formatted(HANG_LOCK));
    }

    private static String settings(String tag, String delay) {
        return "default_pool_size = 1\nserver_check_delay = " + delay + "\nserver_check_query = select check_server('" + tag + "')\n";
    }

    private static void reset(String tag) throws Exception {
        TestPostgres.execute("app", "DELETE FROM check_runs WHERE tag = '" + tag + "'; DELETE FROM check_trouble WHERE tag = '" + tag + "'");
    }

    private static void trouble(String tag, String pid, String mode) throws Exception {
        TestPostgres.execute("app", "INSERT INTO check_trouble VALUES ('" + tag + "', " + pid + ", '" + mode + "')");
    }

    /** Backend pids the checks tagged {@code tag} ran on, in no particular order. */
    private static List<String> runs(String tag) throws Exception {
        List<String> pids = new ArrayList<>();
        try (Connection d = TestPostgres.direct("app"); Statement s = d.createStatement();
                ResultSet rs = s.executeQuery("SELECT pid FROM check_runs WHERE tag = '" + tag + "'")) {
            while (rs.next()) {
                pids.add(rs.getString(1));
            }
        }
        return pids;
    }

    private static boolean backendExists(String pid) throws Exception {
        try (Connection d = TestPostgres.direct("postgres"); Statement s = d.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid)) {
            rs.next();
            return rs.getInt(1) > 0;
        }
    }

    private static void eventually(String what, BooleanSupplier condition) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < until, "timed out waiting until " + what);
            Thread.sleep(100);
        }
    }

    private static boolean gone(String pid) {
        try {
            return !backendExists(pid);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** The client's server's backend pid; fails on any ErrorResponse the client gets. */
    private static String pid(RawClient c) throws Exception {
        List<RawClient.Message> answer = c.simpleQuery("SELECT pg_backend_pid()");
        for (RawClient.Message m : answer) {
            assertNotEquals('E', m.type(), () -> "the client got an error: " + m.error());
        }
        return RawClient.firstValue(answer);
    }

    /** {@code n} queries, the clients taking turns; the backend pid each one ran on. */
    private static List<String> takeTurns(int n, RawClient... clients) throws Exception {
        List<String> pids = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            pids.add(pid(clients[i % clients.length]));
        }
        return pids;
    }

    private static void reload(Pgloom p, String from, String to) throws Exception {
        String ini = Files.readString(p.ini);
        assertTrue(ini.contains(from), "the ini has " + from);
        Files.writeString(p.ini, ini.replace(from, to));
        assertTrue(p.server.reload(), "reload accepted");
    }

    @Test
    void delayZeroChecksEveryReuse() throws Exception {
        reset("every");
        try (Pgloom p = Pgloom.start("transaction", settings("every", "0"));
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            // a's login opened the pool's one server (to learn the server's parameters) and released
            // it: from then on every query reuses an idle server.
            List<String> pids = takeTurns(6, a, b);
            assertEquals(1, Set.copyOf(pids).size(), "one server served every query: " + pids);
            List<String> checks = runs("every");
            assertEquals(6, checks.size(), "one check per reuse: " + checks);
            assertEquals(Set.copyOf(pids), Set.copyOf(checks), "the checks ran on the server the clients got");
        }
    }

    @Test
    void noCheckWithinTheDelayAndOneAfterIt() throws Exception {
        reset("delay");
        try (Pgloom p = Pgloom.start("transaction", settings("delay", "300"));
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            List<String> pids = takeTurns(6, a, b);
            assertEquals(1, Set.copyOf(pids).size(), "one server served every query: " + pids);
            assertEquals(List.of(), runs("delay"), "reused within server_check_delay: no check");

            reload(p, "server_check_delay = 300", "server_check_delay = 0.2");
            Thread.sleep(600); // the idle server is now past the new, shorter delay
            assertEquals(pids.getFirst(), pid(a));
            assertEquals(List.of(pids.getFirst()), runs("delay"), "after a reload, idle past the delay: one check");
        }
    }

    @Test
    void emptyCheckQueryDisablesChecks() throws Exception {
        reset("off");
        try (Pgloom p = Pgloom.start("transaction", settings("off", "0"));
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            takeTurns(2, a, b);
            assertEquals(2, runs("off").size(), "checks run before the reload");

            reload(p, "server_check_query = select check_server('off')", "server_check_query =");
            assertEquals("", p.server.pooler().settings().serverCheckQuery());
            List<String> pids = takeTurns(6, a, b);
            assertEquals(1, Set.copyOf(pids).size(), "one server served every query: " + pids);
            assertEquals(2, runs("off").size(), "an empty server_check_query runs no check");
        }
    }

    @Test
    void defaultEmptyQueryCheckPassesOnAHealthyServer() throws Exception {
        // server_check_query's default, <empty>, sends an empty query (not the text "<empty>").
        try (Pgloom p = Pgloom.start("transaction", "default_pool_size = 1\nserver_check_delay = 0\n");
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            assertEquals("<empty>", p.server.pooler().settings().serverCheckQuery());
            List<String> pids = takeTurns(6, a, b);
            assertEquals(1, Set.copyOf(pids).size(), "every check passed, so the one server was kept: " + pids);
        }
    }

    @Test
    void failedCheckClosesTheServerAndTheClientGetsAnother() throws Exception {
        reset("fail");
        Path log = Files.createTempFile("pgloom-check-", ".log");
        String extra = settings("fail", "0") + "default_pool_size = 2\nlogfile = " + log + "\n";
        try (Pgloom p = Pgloom.start("transaction", extra);
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            // Two idle servers.
            a.simpleQuery("BEGIN");
            b.simpleQuery("BEGIN");
            String pa = pid(a);
            String pb = pid(b);
            assertNotEquals(pa, pb);
            a.simpleQuery("COMMIT");
            b.simpleQuery("COMMIT");

            trouble("fail", pa, "fail");
            trouble("fail", pb, "fail");
            String pc = pid(c);
            assertFalse(Set.of(pa, pb).contains(pc), "both idle servers failed their check; c got a new one: " + pc);
            eventually("the failed servers are closed", () -> gone(pa) && gone(pb));
            String logged = Files.readString(log);
            assertTrue(logged.contains("server_check_query failed") && logged.contains("backend " + pa + " is marked bad"),
                    "the log says why the server was closed:\n" + logged);

            // The others carry on, on the healthy server.
            assertEquals(List.of(pc, pc, pc), takeTurns(3, a, b, c));
        } finally {
            Files.deleteIfExists(log);
        }
    }

    @Test
    void whileEveryCheckFailsEveryRequestStillGetsAnAnswer() throws Exception {
        reset("churn");
        try (Pgloom p = Pgloom.start("transaction", settings("churn", "0") + "default_pool_size = 2\n");
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            trouble("churn", "0", "fail");
            List<String> pids = takeTurns(9, a, b, c);
            assertEquals(9, new HashSet<>(pids).size(), "no server passed a check, so none was reused: " + pids);
            for (String old : pids.subList(0, 8)) {
                eventually("server " + old + " is closed", () -> gone(old));
            }

            TestPostgres.execute("app", "DELETE FROM check_trouble WHERE tag = 'churn'");
            String last = pids.getLast();
            assertEquals(List.of(last, last, last), takeTurns(3, a, b, c), "checks pass again: the server is kept");
        }
    }

    @Test
    void aFailedCheckKeepsMaxDbConnectionsExact() throws Exception {
        reset("budget");
        // The pool would allow two servers; max_db_connections allows one.
        String extra = settings("budget", "0") + "default_pool_size = 2\nmax_db_connections = 1\nquery_wait_timeout = 2\n";
        try (Pgloom p = Pgloom.start("transaction", extra);
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            trouble("budget", "0", "fail");
            String first = pid(b);
            a.simpleQuery("BEGIN");
            String second = pid(a);
            assertNotEquals(first, second, "a's check failed and a got a new server in its slot");

            b.send(RawClient.query("SELECT 'over budget'"));
            RawClient.Message reply;
            do {
                reply = b.read();
            } while (reply.type() != 'E' && reply.type() != 'Z');
            assertEquals('E', reply.type(), "b must not get a second server: that would break max_db_connections");
            assertEquals("query_wait_timeout", reply.error().message());

            a.simpleQuery("COMMIT");
            String third = pid(c);
            assertNotEquals(second, third);
            eventually("only c's server is left", () -> gone(first) && gone(second));
            assertTrue(backendExists(third));
        }
    }

    @Test
    void aCheckWithoutAnswerTimesOutAndTheClientGetsAnotherServer() throws Exception {
        reset("hang");
        Path log = Files.createTempFile("pgloom-check-", ".log");
        String extra = settings("hang", "0") + "server_connect_timeout = 1\nlogfile = " + log + "\n";
        try (Connection holder = TestPostgres.direct("app");
                Pgloom p = Pgloom.start("transaction", extra);
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            String first = pid(a);
            try (Statement s = holder.createStatement()) {
                s.execute("SELECT pg_advisory_lock(" + HANG_LOCK + ")");
            }
            trouble("hang", first, "hang");
            String second = pid(b);
            assertNotEquals(first, second, "the hanging server was given up on; b got a new one");
            assertTrue(Files.readString(log).contains("no answer within 1000 ms"), "the log says why");
            try (Statement s = holder.createStatement()) {
                s.execute("SELECT pg_advisory_unlock(" + HANG_LOCK + ")");
            }
            eventually("the hanging server is closed", () -> gone(first));
            assertEquals(second, pid(a));
        } finally {
            reset("hang");
            Files.deleteIfExists(log);
        }
    }
}
