package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.server.pool.PoolLockHolder;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Scraping is cheap: /metrics, /ready and the admin console's SHOW POOLS, SERVERS and CLIENTS
 * read the pools without the lock that acquiring and releasing servers take, so they answer
 * while that lock is held, with the right figures; and under concurrent load the figures stay
 * within bounds and come back to exact values once the load ends.
 */
class LockFreeScrapeTest {
    private static final Map<String, String> APP_ALICE = Map.of("database", "app", "user", "alice");

    private static int metricsPort(Pgloom p) {
        return p.server.metricsPort().orElseThrow(() -> new AssertionError("no metrics listener"));
    }

    private static Exposition scrape(Pgloom p) throws Exception {
        HttpResponse<String> r = MetricsEndpointTest.get(metricsPort(p), "/metrics", null);
        assertEquals(200, r.statusCode(), r.body());
        return Exposition.parse(r.body());
    }

    private static int num(Map<String, String> row, String column) {
        return Integer.parseInt(row.get(column));
    }

    @Test
    void metricsShowPoolsAndReadyAnswerWhileThePoolLockIsHeld() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", """
                    metrics_listen_port = 0
                    default_pool_size = 1
                    query_wait_timeout = 300
                    admin_users = bob
                    """);
                RawClient console = new RawClient(p.port()).login("bob", "bob-secret", "pgbouncer");
                Connection holder = p.connect();
                RawClient waiter = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            holder.setAutoCommit(false);
            holder.createStatement().execute("SELECT 1"); // holds the pool's only server until commit
            waiter.send(RawClient.query("SELECT 2"));     // waits in line for it
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (num(ConsoleResult.query(console, "SHOW POOLS").row("database", "app"), "cl_waiting") != 1) {
                assertTrue(System.nanoTime() < deadline, "the second client never waited");
                Thread.sleep(50);
            }

            try (PoolLockHolder locked = PoolLockHolder.hold(p.server.pooler(), "app", "alice")) {
                // A deadlock detector, not a timing assertion: on a reader that takes the pool's
                // lock, each of these would wait until the lock is let go, i.e. forever.
                assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                    Exposition e = scrape(p);
                    assertEquals(1.0, e.value("pgbouncer_pools_client_waiting_connections", APP_ALICE));
                    assertEquals(1.0, e.value("pgbouncer_pools_client_active_connections", APP_ALICE));
                    assertEquals(1.0, e.value("pgbouncer_pools_server_active_connections", APP_ALICE));
                    assertEquals(0.0, e.value("pgbouncer_pools_server_idle_connections", APP_ALICE));
                    assertEquals(0.0, e.value("pgbouncer_pools_server_login_connections", APP_ALICE));
                    assertTrue(e.value("pgbouncer_pools_client_maxwait_seconds", APP_ALICE) >= 0);
                    assertEquals(1.0, e.value("pgbouncer_server_connections", Map.of("database", "app", "state", "active")));

                    Map<String, String> pool = ConsoleResult.query(console, "SHOW POOLS").row("database", "app");
                    assertEquals(1, num(pool, "cl_waiting"), pool.toString());
                    assertEquals(1, num(pool, "cl_active"), pool.toString());
                    assertEquals(1, num(pool, "sv_active"), pool.toString());
                    assertEquals(0, num(pool, "sv_idle"), pool.toString());
                    ConsoleResult servers = ConsoleResult.query(console, "SHOW SERVERS");
                    assertEquals(1, servers.where("state", "active").size(), servers.rows().toString());
                    ConsoleResult clients = ConsoleResult.query(console, "SHOW CLIENTS");
                    assertEquals(1, clients.where("state", "waiting").size(), clients.rows().toString());
                    assertEquals(1, clients.where("state", "active").size(), clients.rows().toString());

                    HttpResponse<String> ready = MetricsEndpointTest.get(metricsPort(p), "/ready", null);
                    assertEquals(200, ready.statusCode(), ready.body());
                    Map<String, Object> json = MiniJson.object(ready.body());
                    assertEquals("ready", json.get("status"), ready.body());
                    assertEquals(1.0, json.get("servers"), ready.body());
                }, "a reader of the pool's state waited for the pool's lock");
            }

            holder.commit();
            assertEquals("2", RawClient.firstValue(waiter.readUntil('Z')), "the waiter got the server once it was free");
        }
    }

    @Test
    void figuresStayInBoundsUnderLoadAndAreExactAfterIt() throws Exception {
        final int clients = 12;
        final int poolSize = 4;
        final int transactions = 150;
        try (Pgloom p = Pgloom.start("transaction", """
                    metrics_listen_port = 0
                    default_pool_size = %d
                    min_pool_size = %d
                    query_wait_timeout = 120
                    admin_users = bob
                    """.formatted(poolSize, poolSize));
                RawClient console = new RawClient(p.port()).login("bob", "bob-secret", "pgbouncer")) {
            List<Connection> connections = new ArrayList<>();
            try {
                for (int i = 0; i < clients; i++) {
                    connections.add(p.connect());
                }
                ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
                AtomicBoolean loadDone = new AtomicBoolean();
                List<Thread> workers = new ArrayList<>();
                for (Connection c : connections) {
                    workers.add(Thread.ofVirtual().start(() -> {
                        try (Statement st = c.createStatement()) {
                            for (int i = 0; i < transactions; i++) {
                                if (i % 3 == 0) {
                                    c.setAutoCommit(false);
                                    st.execute("SELECT " + i);
                                    st.execute("SELECT pg_sleep(0.001)");
                                    c.commit();
                                    c.setAutoCommit(true);
                                } else {
                                    st.execute("SELECT " + i);
                                }
                            }
                        } catch (Throwable t) {
                            failures.add(t);
                        }
                    }));
                }
                // Scrape throughout the load: every figure stays within what the pool allows.
                int scrapes = 0;
                long loadDeadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
                while (!loadDone.get()) {
                    assertTrue(System.nanoTime() < loadDeadline, "the load did not finish in 5 minutes");
                    loadDone.set(workers.stream().noneMatch(Thread::isAlive));
                    Exposition e = scrape(p);
                    double waiting = e.value("pgbouncer_pools_client_waiting_connections", APP_ALICE);
                    double active = e.value("pgbouncer_pools_client_active_connections", APP_ALICE);
                    assertTrue(waiting >= 0 && waiting <= clients, "cl_waiting " + waiting);
                    assertTrue(active >= 0 && active + waiting <= clients, "cl_active " + active + ", cl_waiting " + waiting);
                    double servers = 0;
                    for (String state : List.of("active", "idle", "used", "testing", "being_canceled")) {
                        double n = e.value("pgbouncer_pools_server_" + state + "_connections", APP_ALICE);
                        assertTrue(n >= 0 && n <= poolSize, "sv_" + state + " " + n);
                        servers += n;
                    }
                    assertTrue(servers <= poolSize, servers + " servers in a pool of " + poolSize);
                    Map<String, String> pool = ConsoleResult.query(console, "SHOW POOLS").row("database", "app");
                    assertTrue(num(pool, "cl_waiting") <= clients && num(pool, "sv_active") <= poolSize, pool.toString());
                    scrapes++;
                }
                assertTrue(failures.isEmpty(), "client failures: " + failures);
                assertTrue(scrapes > 0);

                // Load over, clients still connected: the figures settle to exact values.
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                Map<String, String> pool = ConsoleResult.query(console, "SHOW POOLS").row("database", "app");
                while (num(pool, "sv_idle") != poolSize || num(pool, "sv_active") != 0 || num(pool, "cl_waiting") != 0) {
                    assertTrue(System.nanoTime() < deadline, "the pool never settled: " + pool);
                    Thread.sleep(50);
                    pool = ConsoleResult.query(console, "SHOW POOLS").row("database", "app");
                }
                assertEquals(clients, num(pool, "cl_active"), pool.toString());
                assertEquals(0, num(pool, "sv_used") + num(pool, "sv_tested") + num(pool, "sv_login"), pool.toString());
                assertEquals(0, num(pool, "maxwait") + num(pool, "maxwait_us"), pool.toString());
                Exposition e = scrape(p);
                assertEquals(0.0, e.value("pgbouncer_pools_client_waiting_connections", APP_ALICE));
                assertEquals((double) clients, e.value("pgbouncer_pools_client_active_connections", APP_ALICE));
                assertEquals(0.0, e.value("pgbouncer_pools_server_active_connections", APP_ALICE));
                assertEquals((double) poolSize, e.value("pgbouncer_pools_server_idle_connections", APP_ALICE));
                assertEquals((double) poolSize, e.value("pgbouncer_server_connections", Map.of("database", "app", "state", "idle")));
                ConsoleResult shown = ConsoleResult.query(console, "SHOW CLIENTS");
                assertEquals(clients, shown.where("database", "app").size(), shown.rows().toString());
                assertEquals(clients, shown.where("database", "app").stream().filter(r -> "idle".equals(r.get("state"))).count(),
                        shown.rows().toString());
            } finally {
                for (Connection c : connections) {
                    c.close();
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            Map<String, String> pool = ConsoleResult.query(console, "SHOW POOLS").row("database", "app");
            while (num(pool, "cl_active") != 0) {
                assertTrue(System.nanoTime() < deadline, "clients still counted after they left: " + pool);
                Thread.sleep(50);
                pool = ConsoleResult.query(console, "SHOW POOLS").row("database", "app");
            }
            assertEquals(poolSize, num(pool, "sv_idle"), pool.toString());
        }
    }
}
