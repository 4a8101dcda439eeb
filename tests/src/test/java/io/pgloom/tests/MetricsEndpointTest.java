package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** /metrics, /health and /ready over real HTTP, with real clients running through pgloom. */
class MetricsEndpointTest {
    /** prometheus-community/pgbouncer_exporter's metric names (as exposed, counters with _total). */
    private static final List<String> EXPORTER_NAMES = List.of(
            "pgbouncer_up", "pgbouncer_version_info",
            "pgbouncer_stats_queries_pooled_total", "pgbouncer_stats_queries_duration_seconds_total",
            "pgbouncer_stats_received_bytes_total", "pgbouncer_stats_sent_bytes_total",
            "pgbouncer_stats_client_wait_seconds_total", "pgbouncer_stats_sql_transactions_pooled_total",
            "pgbouncer_stats_server_in_transaction_seconds_total",
            "pgbouncer_pools_client_active_connections", "pgbouncer_pools_client_active_cancel_connections",
            "pgbouncer_pools_client_waiting_connections", "pgbouncer_pools_client_waiting_cancel_connections",
            "pgbouncer_pools_server_active_connections", "pgbouncer_pools_server_active_cancel_connections",
            "pgbouncer_pools_server_being_canceled_connections", "pgbouncer_pools_server_idle_connections",
            "pgbouncer_pools_server_used_connections", "pgbouncer_pools_server_testing_connections",
            "pgbouncer_pools_server_login_connections", "pgbouncer_pools_client_maxwait_seconds",
            "pgbouncer_databases_pool_size", "pgbouncer_databases_reserve_pool", "pgbouncer_databases_max_connections",
            "pgbouncer_databases_current_connections", "pgbouncer_databases_paused", "pgbouncer_databases_disabled",
            "pgbouncer_databases", "pgbouncer_users", "pgbouncer_pools", "pgbouncer_free_clients", "pgbouncer_used_clients",
            "pgbouncer_login_clients", "pgbouncer_free_servers", "pgbouncer_used_servers", "pgbouncer_cached_dns_names",
            "pgbouncer_cached_dns_zones", "pgbouncer_in_flight_dns_queries",
            "pgbouncer_config_max_client_connections", "pgbouncer_config_max_user_connections",
            "pgbouncer_server_connections");

    private static final Map<String, String> APP_ALICE = Map.of("database", "app", "user", "alice");
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private static Pgloom pgloom;

    @BeforeAll
    static void start() throws Exception {
        pgloom = Pgloom.start("transaction", """
                metrics_listen_port = 0
                default_pool_size = 1
                max_client_conn = 50
                max_user_connections = 7
                """);
    }

    @AfterAll
    static void stop() throws IOException {
        pgloom.close();
    }

    private static int metricsPort(Pgloom p) {
        return p.server.metricsPort().orElseThrow(() -> new AssertionError("no metrics listener"));
    }

    static HttpResponse<String> get(int port, String path, String accept) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(30));
        if (accept != null) {
            b.header("Accept", accept);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static Exposition scrape() throws IOException, InterruptedException {
        HttpResponse<String> r = get(metricsPort(pgloom), "/metrics", null);
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain; version=0.0.4"),
                r.headers().toString());
        return Exposition.parse(r.body());
    }

    /** Scrapes until {@code done} holds, for at most 30 s; returns the last scrape. */
    private static Exposition awaitScrape(Predicate<Exposition> done) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        Exposition e = scrape();
        while (!done.test(e)) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("gave up waiting for the metrics; last pool samples: "
                        + e.samples.stream().filter(s -> s.name().startsWith("pgbouncer_pools_")).toList());
            }
            Thread.sleep(50);
            e = scrape();
        }
        return e;
    }

    @Test
    void metricsParseStrictlyAndCarryThePgbouncerExporterNames() throws Exception {
        try (Connection c = pgloom.connect(); Statement st = c.createStatement()) {
            st.execute("SELECT 1"); // so the app/alice pool and a server exist
        }
        Exposition e = scrape();
        for (String name : EXPORTER_NAMES) {
            assertTrue(e.types.containsKey(name), "missing " + name + "; families: " + e.types.keySet());
        }
        for (String family : e.types.keySet()) {
            if (family.startsWith("pgbouncer_")) {
                assertTrue(EXPORTER_NAMES.contains(family), family + " is not a pgbouncer_exporter name");
            }
        }
        assertEquals("counter", e.types.get("pgbouncer_stats_sql_transactions_pooled_total"));
        assertEquals("gauge", e.types.get("pgbouncer_pools_client_active_connections"));
        assertEquals(1.0, e.value("pgbouncer_up", Map.of()));
        assertEquals(50.0, e.value("pgbouncer_config_max_client_connections", Map.of()));
        assertEquals(7.0, e.value("pgbouncer_config_max_user_connections", Map.of()));
        assertEquals(1.0, e.value("pgbouncer_databases_pool_size", Map.of("name", "app")));
        assertEquals(0.0, e.value("pgbouncer_databases_paused", Map.of("name", "app")));
        assertFalse(Double.isNaN(e.value("pgbouncer_pools_server_idle_connections", APP_ALICE)));
        // pgloom's own: histograms per pool, connection counters, JVM and virtual threads.
        assertEquals("histogram", e.types.get("pgloom_query_duration_seconds"));
        assertEquals("histogram", e.types.get("pgloom_client_wait_seconds"));
        assertEquals("histogram", e.types.get("pgloom_transaction_duration_seconds"));
        assertTrue(e.value("pgloom_server_connections_opened_total", APP_ALICE) >= 1);
        assertTrue(e.value("pgloom_client_connections_accepted_total", Map.of()) >= 1);
        assertTrue(e.types.containsKey("jvm_memory_used_bytes"), "JVM metrics");
        assertTrue(e.value("pgloom_virtual_thread_scheduler_parallelism", Map.of()) >= 1);
        if (io.pgloom.server.carrier.Carriers.active()) {
            // On pgloom's own carriers the scheduler metrics are theirs, not the JDK's idle default scheduler's.
            assertEquals(io.pgloom.server.carrier.Carriers.count(), e.value("pgloom_virtual_thread_scheduler_carriers", Map.of()));
            double mounted = e.value("pgloom_virtual_threads_mounted", Map.of());
            assertTrue(mounted >= 1 && mounted <= io.pgloom.server.carrier.Carriers.count(),
                    "the carrier serving this scrape is running threads: " + mounted);
        }
    }

    @Test
    void transactionsCounterRisesByExactlyTheTransactionsRun() throws Exception {
        final int n = 25;
        try (Connection c = pgloom.connect(); Statement st = c.createStatement()) {
            st.execute("SELECT 1");
            Exposition before = scrape();
            double xacts = before.value("pgbouncer_stats_sql_transactions_pooled_total", Map.of("database", "app"));
            double queries = before.value("pgloom_query_duration_seconds_count", APP_ALICE);
            for (int i = 0; i < n; i++) {
                st.execute("SELECT " + i);
            }
            Exposition after = awaitScrape(e -> e.value("pgloom_query_duration_seconds_count", APP_ALICE) >= queries + n);
            assertEquals(xacts + n, after.value("pgbouncer_stats_sql_transactions_pooled_total", Map.of("database", "app")));
            assertEquals(queries + n, after.value("pgloom_query_duration_seconds_count", APP_ALICE));
            assertEquals(after.value("pgloom_query_duration_seconds_count", APP_ALICE),
                    after.value("pgloom_query_duration_seconds_bucket", Map.of("database", "app", "user", "alice", "le", "+Inf")));
        }
    }

    @Test
    void gaugesShowAnOpenTransactionAndAWaitingClient() throws Exception {
        try (Connection holder = pgloom.connect(); Connection waiter = pgloom.connect()) {
            holder.setAutoCommit(false);
            holder.createStatement().execute("SELECT 1"); // holds the pool's only server until commit
            CompletableFuture<Void> waiting = CompletableFuture.runAsync(() -> {
                try (Statement st = waiter.createStatement()) {
                    st.execute("SELECT 2");
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            Exposition e = awaitScrape(x -> x.value("pgbouncer_pools_client_waiting_connections", APP_ALICE) == 1);
            assertEquals(1.0, e.value("pgbouncer_pools_client_active_connections", APP_ALICE));
            assertEquals(1.0, e.value("pgbouncer_pools_server_active_connections", APP_ALICE));
            assertTrue(e.value("pgbouncer_pools_client_maxwait_seconds", APP_ALICE) >= 0);
            holder.commit();
            waiting.get(30, TimeUnit.SECONDS);
            awaitScrape(x -> x.value("pgbouncer_pools_client_waiting_connections", APP_ALICE) == 0);
        }
    }

    @Test
    void refusedLoginsAreCountedByReason() throws Exception {
        Map<String, String> auth = Map.of("reason", "auth_failed");
        double before = orZero(scrape().value("pgloom_client_connections_refused_total", auth));
        assertThrows(SQLException.class, () -> pgloom.connect("app", "alice", "wrong").close());
        awaitScrape(e -> orZero(e.value("pgloom_client_connections_refused_total", auth)) == before + 1);
    }

    private static double orZero(double v) {
        return Double.isNaN(v) ? 0 : v;
    }

    @Test
    void openMetricsIsServedOnAskingAndEndsWithEof() throws Exception {
        HttpResponse<String> r = get(metricsPort(pgloom), "/metrics",
                "application/openmetrics-text; version=1.0.0; charset=utf-8");
        assertEquals(200, r.statusCode());
        assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("application/openmetrics-text"));
        assertTrue(r.body().endsWith("# EOF\n"), "OpenMetrics ends with # EOF");
        assertTrue(r.body().contains("# TYPE pgbouncer_stats_sql_transactions_pooled counter"), "OpenMetrics names counters without _total in TYPE");
    }

    @Test
    void healthAnswersOkAndUnknownPathsAre404() throws Exception {
        HttpResponse<String> r = get(metricsPort(pgloom), "/health", null);
        assertEquals(200, r.statusCode());
        assertEquals("ok\n", r.body());
        assertEquals(404, get(metricsPort(pgloom), "/nope", null).statusCode());
        assertEquals(404, get(metricsPort(pgloom), "/readyz", null).statusCode());
    }

    @Test
    void readyIs200WithAJsonReportWhenBackendsAnswer() throws Exception {
        HttpResponse<String> r = get(metricsPort(pgloom), "/ready", null);
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("application/json", r.headers().firstValue("Content-Type").orElse(""));
        Map<String, Object> json = MiniJson.object(r.body());
        assertEquals("ready", json.get("status"));
        assertEquals(false, json.get("shutting_down"));
        assertEquals(false, json.get("paused"));
        assertEquals(true, json.get("accepting_clients"));
        assertTrue(json.get("clients") instanceof Double && json.get("pools") instanceof Double && json.get("servers") instanceof Double);
        List<?> dbs = (List<?>) json.get("databases");
        assertEquals(List.of("app", "postgres"), dbs.stream().map(d -> ((Map<?, ?>) d).get("name")).sorted().toList());
        for (Object d : dbs) {
            assertEquals(true, ((Map<?, ?>) d).get("reachable"), d.toString());
        }
        assertEquals(List.of(), json.get("messages"));
    }

    @Test
    void readyIs503WhenADatabaseHasNoReachableBackend() throws Exception {
        // Bound but not listening: connects are refused, and no listener opened meanwhile (pgloom's
        // own, on port 0) can be given the port, as one could after a closed ServerSocket.
        try (Socket held = new Socket()) {
            held.bind(new InetSocketAddress("127.0.0.1", 0));
            readyIs503For(held.getLocalPort());
        }
    }

    private void readyIs503For(int deadPort) throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "metrics_listen_port = 0",
                "gone = host=127.0.0.1 port=" + deadPort + " dbname=app")) {
            HttpResponse<String> r = get(metricsPort(p), "/ready", null);
            assertEquals(503, r.statusCode(), r.body());
            Map<String, Object> json = MiniJson.object(r.body());
            assertEquals("not ready", json.get("status"));
            List<?> messages = (List<?>) json.get("messages");
            assertEquals(1, messages.size(), messages.toString());
            assertTrue(messages.getFirst().toString().startsWith("no backend reachable for database gone: 127.0.0.1:" + deadPort),
                    messages.toString());
            for (Object d : (List<?>) json.get("databases")) {
                Map<?, ?> db = (Map<?, ?>) d;
                assertEquals(!db.get("name").equals("gone"), db.get("reachable"), db.toString());
            }
            // /health is about the process, not the backends.
            assertEquals(200, get(metricsPort(p), "/health", null).statusCode());
        }
    }

    @Test
    void readyProbesADatabaseWithoutHostWhereItsPoolConnects() throws Exception {
        // No host= means 127.0.0.1 to the pool: /ready must probe the same place, not call it unreachable.
        TestPostgres.Endpoint pg = TestPostgres.shared();
        assertEquals("127.0.0.1", pg.host(), "this test needs PostgreSQL on 127.0.0.1");
        try (Pgloom p = Pgloom.start("transaction", "metrics_listen_port = 0",
                "nohost = port=" + pg.port() + " dbname=app")) {
            HttpResponse<String> r = get(metricsPort(p), "/ready", null);
            assertEquals(200, r.statusCode(), r.body());
            for (Object d : (List<?>) MiniJson.object(r.body()).get("databases")) {
                Map<?, ?> db = (Map<?, ?>) d;
                if (db.get("name").equals("nohost")) {
                    assertEquals(true, db.get("reachable"), db.toString());
                    assertEquals("tcp connect", db.get("evidence"), db.toString());
                }
            }
        }
    }

    @Test
    void readyIs503WhilePausedAndBackAfterResume() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "metrics_listen_port = 0\nadmin_users = postgres\n");
                RawClient admin = new RawClient(p.port()).login("postgres", "postgres", "pgbouncer")) {
            int port = metricsPort(p);
            assertEquals(200, get(port, "/ready", null).statusCode());
            // PAUSE returns once the database's servers are closed, so /ready must already say so.
            consoleCommand(admin, "PAUSE app");
            HttpResponse<String> r = get(port, "/ready", null);
            assertEquals(503, r.statusCode(), r.body());
            Map<String, Object> json = MiniJson.object(r.body());
            assertEquals(true, json.get("paused"));
            assertEquals(true, json.get("accepting_clients"), "a paused pgloom still takes clients; they wait");
            assertEquals(List.of("database app is paused"), json.get("messages"));
            consoleCommand(admin, "RESUME app");
            assertEquals(200, get(port, "/ready", null).statusCode());

            consoleCommand(admin, "PAUSE");
            r = get(port, "/ready", null);
            assertEquals(503, r.statusCode(), r.body());
            assertTrue(((List<?>) MiniJson.object(r.body()).get("messages")).contains("pgloom is paused"), r.body());
            consoleCommand(admin, "RESUME");
            r = get(port, "/ready", null);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(false, MiniJson.object(r.body()).get("paused"));
        }
    }

    @Test
    void readyIs503WhenTheBackendGoesAwayAnd200WhenItIsBack() throws Exception {
        int port = TcpForwarder.freePort();
        String db = "flaky = host=127.0.0.1 port=" + port + " dbname=app\n";
        try (Pgloom p = Pgloom.start("transaction", "metrics_listen_port = 0\nserver_login_retry = 1\n", db)) {
            int metrics = metricsPort(p);
            try (TcpForwarder backend = new TcpForwarder(port, TestPostgres.shared().port());
                    Connection c = p.connect("flaky", "alice", "alice-secret");
                    Statement st = c.createStatement()) {
                st.execute("SELECT 1"); // a live server connection is the evidence
                HttpResponse<String> r = get(metrics, "/ready", null);
                assertEquals(200, r.statusCode(), r.body());
                assertTrue(r.body().contains("\"evidence\":\"server connection\""), r.body());
            }
            // The backend is gone and its connections are cut: the server closes, the TCP probe fails.
            HttpResponse<String> r = awaitReady(metrics, 503);
            assertTrue(((List<?>) MiniJson.object(r.body()).get("messages")).stream()
                    .anyMatch(m -> m.toString().startsWith("no backend reachable for database flaky: 127.0.0.1:" + port)), r.body());
            try (TcpForwarder back = new TcpForwarder(port, TestPostgres.shared().port())) {
                awaitReady(metrics, 200);
            }
        }
    }

    /** Polls /ready (its TCP probe is cached for a few seconds) until it answers {@code status}. */
    private static HttpResponse<String> awaitReady(int port, int status) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        HttpResponse<String> r = get(port, "/ready", null);
        while (r.statusCode() != status && System.nanoTime() < deadline) {
            Thread.sleep(100);
            r = get(port, "/ready", null);
        }
        assertEquals(status, r.statusCode(), r.body());
        return r;
    }

    private static void consoleCommand(RawClient admin, String command) throws IOException {
        ConsoleResult result = ConsoleResult.of(admin.simpleQuery(command));
        assertNull(result.error(), () -> command + " failed: " + result.error().error());
    }

    @Test
    void readyIs503WhileShuttingDownThenTheListenerGoes() throws Exception {
        Pgloom p = Pgloom.start("transaction", "metrics_listen_port = 0");
        int port = metricsPort(p);
        CompletableFuture<Void> shutdown;
        try (Connection c = p.connect()) {
            assertEquals(200, get(port, "/ready", null).statusCode());
            c.setAutoCommit(false);
            c.createStatement().execute("SELECT 1"); // an open transaction: shutdown waits for it
            shutdown = CompletableFuture.runAsync(() -> p.server.shutdown(Duration.ofSeconds(60)));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            HttpResponse<String> r = get(port, "/ready", null);
            while (r.statusCode() != 503 && System.nanoTime() < deadline) {
                Thread.sleep(50);
                r = get(port, "/ready", null);
            }
            assertEquals(503, r.statusCode(), r.body());
            Map<String, Object> json = MiniJson.object(r.body());
            assertEquals(true, json.get("shutting_down"));
            assertEquals(false, json.get("accepting_clients"));
            assertTrue(((List<?>) json.get("messages")).contains("pgloom is shutting down"), r.body());
            assertEquals(200, get(port, "/health", null).statusCode(), "alive while draining");
            c.commit();
        }
        shutdown.get(60, TimeUnit.SECONDS);
        p.close();
        assertThrows(ConnectException.class, () -> get(port, "/health", null));
    }

    @Test
    void noListenerUnlessMetricsListenPortIsSet() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "")) {
            assertTrue(p.server.metricsPort().isEmpty());
            try (Connection c = p.connect(); Statement st = c.createStatement()) {
                st.execute("SELECT 1"); // pooling works as ever without it
            }
        }
    }
}
