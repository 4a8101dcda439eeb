package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.wire.protocol.ErrorResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;

/** Pool sizes, shared caps and the timeouts that close idle things, seen from PostgreSQL's side. */
class PoolSizingTest {

    /** Backends PostgreSQL has for a user (the pooler's server connections). */
    static int backendsOf(String user) throws Exception {
        try (Connection d = TestPostgres.direct("postgres"); Statement s = d.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE usename = '" + user
                        + "' AND backend_type = 'client backend'")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** Polls until the condition holds (bounded: 15 s), returning the last count seen. */
    private static int eventually(String user, IntPredicate condition) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        int n = backendsOf(user);
        while (!condition.test(n) && System.nanoTime() < until) {
            Thread.sleep(100);
            n = backendsOf(user);
        }
        return n;
    }

    @Test
    void maxDbConnectionsCapsServersAcrossUsers() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "max_db_connections = 2\nquery_wait_timeout = 1\n");
                RawClient alice = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient bob = new RawClient(p.port()).login("bob", "bob-secret", "app");
                RawClient alice2 = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            alice.simpleQuery("BEGIN");
            bob.simpleQuery("BEGIN");
            alice2.send(RawClient.query("SELECT 1"));
            ErrorResponse e = alice2.readError();
            assertEquals("query_wait_timeout", e.message(), "a third server would break max_db_connections");
            alice.simpleQuery("COMMIT");
            bob.simpleQuery("COMMIT");
        }
    }

    @Test
    void anIdleServerOfAnotherPoolIsEvictedForAClientWaitingOnMaxDbConnections() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "max_db_connections = 1\nquery_wait_timeout = 5\n");
                RawClient alice = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            alice.simpleQuery("SELECT 1"); // alice's pool now holds the database's one slot, idle
            // bob's pool has no server: his login needs one, and waits for no one.
            try (RawClient bob = new RawClient(p.port()).login("bob", "bob-secret", "app")) {
                assertEquals("bob", RawClient.firstValue(bob.simpleQuery("SELECT current_user")),
                        "alice's idle server was closed to make room, as PgBouncer evicts one");
                assertEquals(0, eventually("alice", n -> n == 0));
                assertEquals(1, backendsOf("bob"));
            }
        }
    }

    @Test
    void aShorterQueryTimeoutAlsoBoundsTheWaitForAServer() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "default_pool_size = 1\nquery_wait_timeout = 30\nquery_timeout = 1\n");
                RawClient holder = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient waiter = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            holder.simpleQuery("BEGIN");
            waiter.send(RawClient.query("SELECT 1"));
            ErrorResponse e = waiter.readError();
            assertEquals("query_timeout", e.message(), "as PgBouncer: query_timeout counts from the wait's start too");
            assertEquals("1", RawClient.firstValue(holder.simpleQuery("SELECT 1")), "the holder goes on");
            holder.simpleQuery("COMMIT");
        }
    }

    @Test
    void reservePoolOpensAfterReservePoolTimeout() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "default_pool_size = 1\nreserve_pool_size = 1\nreserve_pool_timeout = 0.3\nquery_wait_timeout = 20\n");
                RawClient holder = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient other = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            holder.simpleQuery("BEGIN");
            assertEquals("reserve", RawClient.firstValue(other.simpleQuery("SELECT 'reserve'")),
                    "the waiting client got a reserve server instead of waiting for the holder");
            holder.simpleQuery("COMMIT");
        }
    }

    @Test
    void minPoolSizeIsKeptAndIdleServersTimeOut() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "min_pool_size = 3\n")) {
            try (RawClient c = new RawClient(p.port()).login("bob", "bob-secret", "app")) {
                c.simpleQuery("SELECT 1");
            }
            assertEquals(3, eventually("bob", n -> n >= 3), "min_pool_size servers are opened in the background");
        }
        assertEquals(0, eventually("bob", n -> n == 0), "closing pgloom closes its servers");
        try (Pgloom p = Pgloom.start("transaction", "server_idle_timeout = 1\n");
                RawClient a = new RawClient(p.port()).login("bob", "bob-secret", "app");
                RawClient b = new RawClient(p.port()).login("bob", "bob-secret", "app")) {
            a.simpleQuery("BEGIN");
            b.simpleQuery("BEGIN");
            assertEquals(2, backendsOf("bob"));
            a.simpleQuery("COMMIT");
            b.simpleQuery("COMMIT");
            assertEquals(0, eventually("bob", n -> n == 0), "idle servers close after server_idle_timeout");
            assertEquals("1", RawClient.firstValue(a.simpleQuery("SELECT 1")), "and a new one opens on demand");
        }
    }

    @Test
    void aDatabaseWithAForcedUserFillsItsMinPoolSizeBeforeAnyClientComes() throws Exception {
        TestPostgres.Endpoint pg = TestPostgres.shared();
        String forced = "forced = host=%s port=%d dbname=app user=bob min_pool_size=2\n".formatted(pg.host(), pg.port());
        try (Pgloom p = Pgloom.start("transaction", "", forced)) {
            assertEquals(2, eventually("bob", n -> n >= 2), "as PgBouncer: the pool's key is known from the config");
        }
        assertEquals(0, eventually("bob", n -> n == 0), "closing pgloom closes them");
    }

    @Test
    void serverLifetimeReplacesOldServers() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "server_lifetime = 1\ndefault_pool_size = 1\n");
                RawClient c = new RawClient(p.port()).login("bob", "bob-secret", "app")) {
            String first = RawClient.firstValue(c.simpleQuery("SELECT pg_backend_pid()"));
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            String now = first;
            while (now.equals(first) && System.nanoTime() < until) {
                Thread.sleep(200);
                now = RawClient.firstValue(c.simpleQuery("SELECT pg_backend_pid()"));
            }
            assertTrue(!now.equals(first), "a server past server_lifetime was replaced");
        }
    }

    @Test
    void idleClientAndIdleTransactionTimeouts() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "client_idle_timeout = 1\nidle_transaction_timeout = 1\n")) {
            try (RawClient idle = new RawClient(p.port()).login("bob", "bob-secret", "app")) {
                ErrorResponse e = idle.readError();
                assertEquals("client_idle_timeout", e.message());
                assertTrue(idle.closedByPeer());
            }
            try (RawClient inTx = new RawClient(p.port()).login("bob", "bob-secret", "app")) {
                inTx.simpleQuery("BEGIN");
                ErrorResponse e = inTx.readError();
                assertEquals("idle transaction timeout", e.message());
                assertTrue(inTx.closedByPeer());
            }
            try (Connection d = TestPostgres.direct("postgres"); Statement s = d.createStatement()) {
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
                int open;
                do {
                    ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE usename = 'bob' AND state LIKE 'idle in transaction%'");
                    rs.next();
                    open = rs.getInt(1);
                    if (open > 0) {
                        Thread.sleep(100);
                    }
                } while (open > 0 && System.nanoTime() < until);
                assertEquals(0, open, "the timed-out transaction was rolled back");
            }
        }
    }

    @Test
    void poolModeCanBeSetPerUser() throws Exception {
        try (Pgloom p = Pgloom.startWith(iniWithUsers("[users]\nbob = pool_mode=session\n"), Pgloom.defaultUserlist());
                RawClient bob1 = new RawClient(p.port()).login("bob", "bob-secret", "app");
                RawClient bob2 = new RawClient(p.port()).login("bob", "bob-secret", "app");
                RawClient alice1 = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient alice2 = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            String b1 = RawClient.firstValue(bob1.simpleQuery("SELECT pg_backend_pid()"));
            String b2 = RawClient.firstValue(bob2.simpleQuery("SELECT pg_backend_pid()"));
            assertTrue(!b1.equals(b2), "bob is in session mode: each client keeps its own server");
            String a1 = RawClient.firstValue(alice1.simpleQuery("SELECT pg_backend_pid()"));
            String a2 = RawClient.firstValue(alice2.simpleQuery("SELECT pg_backend_pid()"));
            assertEquals(a1, a2, "alice is in transaction mode: one idle server serves both in turn");
        }
    }

    private static String iniWithUsers(String usersSection) {
        TestPostgres.Endpoint pg = TestPostgres.shared();
        return "[databases]\napp = host=%s port=%d dbname=app\n%s[pgbouncer]\n%s".formatted(
                pg.host(), pg.port(), usersSection, Pgloom.baseSettings("transaction"));
    }
}
