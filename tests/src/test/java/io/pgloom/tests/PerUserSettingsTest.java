package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.wire.protocol.ErrorResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The [users] parameters (pool_size, reserve_pool_size and the four client timeouts) and
 * transaction_timeout, as PgBouncer 1.25's test_limits.py and test_timeouts.py exercise them.
 */
class PerUserSettingsTest {
    /** Roles of this class only, so that counting their backends sees no other test's. */
    private static final List<String> ROLES = List.of("pu_ann", "pu_ben", "pu_cat");
    private static final String USERLIST = ROLES.stream().map(r -> "\"" + r + "\" \"" + r + "-secret\"\n")
            .reduce("", String::concat);

    @BeforeAll
    static void roles() throws Exception {
        try (Connection c = TestPostgres.direct("app"); Statement s = c.createStatement()) {
            for (String role : ROLES) {
                s.execute("DO $$ BEGIN CREATE ROLE " + role + " LOGIN PASSWORD '" + role + "-secret';"
                        + " EXCEPTION WHEN duplicate_object THEN NULL; END $$");
            }
        }
    }

    /** A timed-out query's backend ends when its sleep does: wait, so that the next test counts from 0. */
    @AfterEach
    void backendsGone() throws Exception {
        for (String role : ROLES) {
            assertEquals(0, backendsEventually(role), "backends of " + role + " left behind");
        }
    }

    private static int backends(String user) throws Exception {
        return PoolSizingTest.backendsOf(user);
    }

    private static String ini(String databases, String settings, String users) {
        TestPostgres.Endpoint pg = TestPostgres.shared();
        return "[databases]\napp = host=%s port=%d dbname=app\n%s\n[pgbouncer]\n%s%s\n[users]\n%s\n".formatted(
                pg.host(), pg.port(), databases.formatted(pg.host(), pg.port()), Pgloom.baseSettings("transaction"),
                settings, users);
    }

    /** {@code n} clients of {@code user} on {@code database}, each in a transaction that holds a server. */
    private static List<RawClient> holding(Pgloom p, int n, String user, String database) throws Exception {
        List<RawClient> clients = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            RawClient c = new RawClient(p.port()).login(user, user + "-secret", database);
            c.send(RawClient.concat(RawClient.query("BEGIN"), RawClient.query("SELECT 1")));
            clients.add(c);
        }
        return clients;
    }

    private static void closeAll(List<RawClient> clients) throws Exception {
        for (RawClient c : clients) {
            c.close();
        }
    }

    @Test
    void userPoolSizeBeatsTheDatabasesButNotForAForcedUser() throws Exception {
        // As test.ini's p0a/p0 and test_pool_size: pu_ben's pool_size=1 sizes pu_ben's pools, also on
        // a database with pool_size=2; on "forced" (user=pu_cat) the pool is pu_cat's, sized 2 by the entry.
        String dbs = "sized = host=%1$s port=%2$d dbname=app pool_size=2\n"
                + "forced = host=%1$s port=%2$d dbname=app user=pu_cat password=pu_cat-secret pool_size=2\n";
        try (Pgloom p = Pgloom.startWith(ini(dbs, "query_wait_timeout = 30\n", "pu_ben = pool_size=1\n"),
                USERLIST)) {
            assertServersFor(p, 3, "pu_ben", "sized", "pu_ben", 1,
                    "pu_ben's own pool_size=1 wins over the database's pool_size=2");
            assertServersFor(p, 4, "pu_ben", "forced", "pu_cat", 2,
                    "a forced user's pool is sized by the entry, not by pu_ben's pool_size");
        }
    }

    /**
     * With {@code clients} of {@code user} each asking for a server of {@code database}, PostgreSQL
     * has {@code expected} backends of {@code serverUser}: the others wait.
     */
    private static void assertServersFor(Pgloom p, int clients, String user, String database, String serverUser, int expected,
            String why) throws Exception {
        List<RawClient> holders = holding(p, clients, user, database);
        try {
            Thread.sleep(1000);
            assertEquals(expected, backends(serverUser), why);
        } finally {
            closeAll(holders);
        }
    }

    @Test
    void userReservePoolOpensAfterReservePoolTimeout() throws Exception {
        try (Pgloom p = Pgloom.startWith(ini("", "reserve_pool_timeout = 1\nquery_wait_timeout = 30\n",
                "pu_ben = pool_size=1 reserve_pool_size=2\n"), USERLIST)) {
            List<RawClient> bobs = holding(p, 4, "pu_ben", "app");
            try {
                Thread.sleep(500);
                assertEquals(1, backends("pu_ben"), "pool_size=1 before reserve_pool_timeout");
                long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (backends("pu_ben") < 3 && System.nanoTime() < until) {
                    Thread.sleep(100);
                }
                Thread.sleep(500);
                assertEquals(3, backends("pu_ben"), "then pu_ben's reserve_pool_size=2 more, and no further");
            } finally {
                closeAll(bobs);
            }
        }
    }

    /**
     * As test_timeouts.py's *_override_global tests: pu_ben's own value of 1 s sends it off while
     * pu_ann, under the global 1000 s, goes on in an open transaction.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            client_idle_timeout      | SELECT 1 | client_idle_timeout
            idle_transaction_timeout | BEGIN    | idle transaction timeout
            transaction_timeout      | BEGIN    | transaction timeout
            """)
    void aUsersTimeoutOverridesTheGlobalOne(String setting, String statement, String message) throws Exception {
        try (Pgloom p = Pgloom.startWith(ini("", setting + " = 1000\n", "pu_ben = " + setting + "=1\n"), USERLIST);
                RawClient bob = new RawClient(p.port()).login("pu_ben", "pu_ben-secret", "app");
                RawClient alice = new RawClient(p.port()).login("pu_ann", "pu_ann-secret", "app")) {
            alice.simpleQuery("BEGIN");
            bob.simpleQuery(statement);
            assertSentOff(bob, "08P01", message);
            assertEquals("1", RawClient.firstValue(alice.simpleQuery("SELECT 1")), "pu_ann keeps the global 1000 s");
            alice.simpleQuery("COMMIT");
        }
    }

    @Test
    void userQueryTimeoutOverridesTheGlobalOneAndAlongerOneLetsTheQueryFinish() throws Exception {
        try (Pgloom p = Pgloom.startWith(ini("", "query_timeout = 1000\n", "pu_ben = query_timeout=1\npu_ann = query_timeout=10\n"),
                USERLIST);
                RawClient bob = new RawClient(p.port()).login("pu_ben", "pu_ben-secret", "app");
                RawClient alice = new RawClient(p.port()).login("pu_ann", "pu_ann-secret", "app")) {
            alice.send(RawClient.query("SELECT 'slept' FROM pg_sleep(2)"));
            bob.send(RawClient.query("SELECT pg_sleep(3)"));
            assertSentOff(bob, "57014", "query timeout");
            assertEquals("slept", RawClient.firstValue(alice.readUntil('Z')), "alice's query_timeout=10 lets 2 s pass");
        }
    }

    @Test
    void transactionTimeoutEndsALongTransactionEvenWhenItIsBusy() throws Exception {
        try (Pgloom p = Pgloom.startWith(ini("", "transaction_timeout = 2\n", ""), USERLIST);
                RawClient c = new RawClient(p.port()).login("pu_ben", "pu_ben-secret", "app")) {
            c.simpleQuery("BEGIN");
            Thread.sleep(1000);
            c.simpleQuery(""); // still within the 2 s: answered
            c.send(RawClient.query("SELECT pg_sleep(3)"));
            assertSentOff(c, "08P01", "transaction timeout");
            // PostgreSQL notices the closed socket once pg_sleep returns, and rolls the transaction back.
            assertEquals(0, backendsEventually("pu_ben"), "the server with the open transaction was closed");
        }
    }

    /** The client got FATAL {@code sqlState} {@code message}, and then its connection was closed. */
    private static void assertSentOff(RawClient c, String sqlState, String message) throws Exception {
        ErrorResponse e = c.readError();
        assertEquals(sqlState, e.sqlState(), e.toString());
        assertEquals(message, e.message());
        assertTrue(c.closedByPeer(), "closed after the error");
    }

    private static int backendsEventually(String user) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        int n;
        while ((n = backends(user)) > 0 && System.nanoTime() < until) {
            Thread.sleep(100);
        }
        return n;
    }
}
