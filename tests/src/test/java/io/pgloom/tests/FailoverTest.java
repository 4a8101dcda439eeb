package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;

/**
 * Multi-host entries over a real primary and its streaming standbys: reads and writes go where
 * target_session_attrs says, and pgloom finds the primary again after it is lost, whether an
 * outside tool promoted a standby or pgloom did.
 */
class FailoverTest {
    /** Probes fast enough for a test; readmit_delay short so recovered hosts come back within it. */
    static final String FAILOVER = """
            [failover]
            probe_interval = 0.2
            probe_timeout = 1
            primary_grace = 1
            readmit_delay = 1
            """;

    static String ini(ReplicaSet set, String failover) {
        return """
                [databases]
                app = %1$s dbname=app target_session_attrs=read-write
                app_ro = %1$s dbname=app target_session_attrs=prefer-standby
                app_standby = %1$s dbname=app target_session_attrs=standby
                app_session = %1$s dbname=app target_session_attrs=read-write pool_mode=session
                [pgbouncer]
                %2$s
                query_wait_timeout = 30
                %3$s
                """.formatted(set.hostsAndPorts(), Pgloom.baseSettings("transaction"), failover);
    }

    static String one(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** SHOW HOSTS rows by host:port. */
    static Map<String, Map<String, String>> hosts(Pgloom p) throws IOException {
        try (RawClient admin = new RawClient(p.port()).login("postgres", "postgres", "pgbouncer")) {
            Map<String, Map<String, String>> byHost = new TreeMap<>();
            for (Map<String, String> r : ConsoleResult.query(admin, "SHOW HOSTS").rows()) {
                byHost.put(r.get("host") + ":" + r.get("port"), r);
            }
            return byHost;
        }
    }

    static String hostOf(ReplicaSet set, int i) {
        return "127.0.0.1:" + set.server(i).port();
    }

    /** Waits until SHOW HOSTS' row for server {@code i} matches. */
    static Map<String, String> awaitHost(Pgloom p, ReplicaSet set, int i, Predicate<Map<String, String>> test, String what)
            throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        Map<String, String> row = null;
        while (System.nanoTime() < deadline) {
            row = hosts(p).get(hostOf(set, i));
            if (row != null && test.test(row)) {
                return row;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("host " + i + " never " + what + "; last row " + row);
    }

    static String adminSettings() {
        return "admin_users = postgres\n";
    }

    @Test
    void writesGoToThePrimaryAndReadsToTheStandbys() throws Exception {
        try (ReplicaSet set = ReplicaSet.start(2);
                Pgloom p = Pgloom.startWith(ini(set, adminSettings() + FAILOVER), Pgloom.defaultUserlist())) {
            try (Connection rw = p.connect("app", "postgres", "postgres");
                    Connection ro = p.connect("app_ro", "postgres", "postgres")) {
                assertEquals("f", one(rw, "SELECT pg_is_in_recovery()"));
                assertEquals(Integer.toString(set.server(0).port()), one(rw, "SELECT inet_server_port()"));
                assertEquals("t", one(ro, "SELECT pg_is_in_recovery()"));
            }
            Map<String, Map<String, String>> rows = hosts(p);
            assertEquals(3, rows.size(), rows.toString());
            assertEquals("primary", rows.get(hostOf(set, 0)).get("role"));
            assertEquals("standby", rows.get(hostOf(set, 1)).get("role"));
            assertEquals("up", rows.get(hostOf(set, 2)).get("state"));
            assertEquals("app,app_ro,app_standby,app_session", rows.get(hostOf(set, 1)).get("databases"));
            assertTrue(Long.parseLong(rows.get(hostOf(set, 0)).get("timeline")) >= 1, rows.toString());
            // ENABLE_HOST re-admits fenced hosts only, named as SHOW HOSTS names them.
            try (RawClient admin = new RawClient(p.port()).login("postgres", "postgres", "pgbouncer")) {
                assertEquals("host " + hostOf(set, 0) + " is not fenced",
                        ConsoleResult.query(admin, "ENABLE_HOST \"" + hostOf(set, 0) + "\"").error().error().message());
                assertEquals("no such host: elsewhere:5432",
                        ConsoleResult.query(admin, "ENABLE_HOST \"elsewhere:5432\"").error().error().message());
                assertEquals("ENABLE_HOST takes \"host:port\" as SHOW HOSTS names it",
                        ConsoleResult.query(admin, "ENABLE_HOST nohostport").error().error().message());
            }
            // Reads spread over both standbys: each client holds its server in a transaction, so
            // four at once need four servers, taken in turn.
            assertEquals(Set.of(Integer.toString(set.server(1).port()), Integer.toString(set.server(2).port())),
                    serverPorts(p, "app_standby", 4), "round-robin over the two standbys");
        }
    }

    @Test
    void anIdleClientFollowsAnOutsidePromotionWithoutReconnecting() throws Exception {
        try (ReplicaSet set = ReplicaSet.start(1);
                Pgloom p = Pgloom.startWith(ini(set, adminSettings() + FAILOVER), Pgloom.defaultUserlist())) {
            try (Connection rw = p.connect("app", "postgres", "postgres")) {
                one(rw, "SELECT 1");
                try (Statement st = rw.createStatement()) {
                    st.execute("CREATE TABLE ledger (id int PRIMARY KEY)");
                    st.execute("INSERT INTO ledger VALUES (1)");
                }
                set.awaitCaughtUp(Duration.ofSeconds(10)); // asynchronous replication: nothing in flight
                assertEquals("1", set.query(1, "SELECT count(*) FROM ledger"), "the standby has the row");
                set.server(0).kill();
                awaitHost(p, set, 0, r -> r.get("state").equals("down"), "went down");
                // The outside tool: promote the standby. pgloom only follows (promote = off).
                assertEquals("t", set.query(1, "SELECT pg_promote(true, 30)"));
                try (Statement st = rw.createStatement()) {
                    st.execute("INSERT INTO ledger VALUES (2)"); // the same client, no reconnect
                }
                assertEquals(Integer.toString(set.server(1).port()), one(rw, "SELECT inet_server_port()"));
                assertEquals("2", one(rw, "SELECT count(*) FROM ledger"));
            }
            awaitHost(p, set, 1, r -> r.get("role").equals("primary") && r.get("state").equals("up"), "became primary");
        }
    }

    @Test
    void aReadWritePoolNeverWritesToAStandbyAndWaitsForAPrimary() throws Exception {
        try (ReplicaSet set = ReplicaSet.start(1);
                Pgloom p = Pgloom.startWith(ini(set, adminSettings() + FAILOVER).replace("query_wait_timeout = 30",
                        "query_wait_timeout = 2"), Pgloom.defaultUserlist())) {
            try (Connection rw = p.connect("app", "postgres", "postgres");
                    Connection session = p.connect("app_session", "postgres", "postgres")) {
                one(rw, "SELECT 1");
                try (Statement st = session.createStatement()) {
                    st.execute("SET application_name = 'mine'"); // session state that dies with the server
                }
                set.server(0).kill();
                awaitHost(p, set, 0, r -> r.get("state").equals("down"), "went down");
                // A session-mode client on the dead host: a clean FATAL, and its connection is closed.
                SQLException fatal = assertThrows(SQLException.class, () -> one(session, "SELECT 1"));
                assertEquals("08006", fatal.getSQLState(), fatal.getMessage());
                assertTrue(session.isClosed() || !session.isValid(2), "the session client was closed");
                // No primary: the client waits query_wait_timeout, then gets PgBouncer's error.
                SQLException e = assertThrows(SQLException.class,
                        () -> one(rw, "SELECT pg_is_in_recovery()"));
                assertTrue(e.getMessage().contains("query_wait_timeout"), e.getMessage());
            }
            // Reads still go on: prefer-standby falls to the standby, which is all there is.
            try (Connection ro = p.connect("app_ro", "postgres", "postgres")) {
                assertEquals("t", one(ro, "SELECT pg_is_in_recovery()"));
            }
        }
    }

    /** Server index of the host SHOW HOSTS names the up primary now, or -1. */
    static int primaryIndex(Pgloom p, ReplicaSet set) throws Exception {
        Map<String, Map<String, String>> rows = hosts(p);
        for (int i = 0; i < set.size(); i++) {
            Map<String, String> r = rows.get(hostOf(set, i));
            if (r != null && r.get("role").equals("primary") && r.get("state").equals("up")) {
                return i;
            }
        }
        return -1;
    }

    @Test
    void promotesAStandbyWhenThePrimaryDiesAndLosesNoAcknowledgedWrite() throws Exception {
        // Synchronous replication to either standby: every acknowledged commit is on one of them.
        // The standbys stream through replication slots, which the repointed one needs on the new primary.
        try (ReplicaSet set = ReplicaSet.start(2, true, "synchronous_standby_names", "ANY 1 (*)");
                Pgloom p = Pgloom.startWith(ini(set, adminSettings() + "metrics_listen_port = 0\n" + FAILOVER + "promote = on\n"),
                        Pgloom.defaultUserlist())) {
            try (Connection rw = p.connect("app", "postgres", "postgres"); Statement st = rw.createStatement()) {
                st.execute("CREATE TABLE ledger (id bigint PRIMARY KEY, writer int)");
            }
            set.awaitCaughtUp(Duration.ofSeconds(10));
            Set<Long> acknowledged = ConcurrentHashMap.newKeySet();
            AtomicLong lastAck = new AtomicLong();
            AtomicInteger errors = new AtomicInteger();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> writers = new ArrayList<>();
            for (int w = 1; w <= 2; w++) {
                int writer = w;
                writers.add(Thread.ofVirtual().start(() -> {
                    try (Connection c = p.connect("app", "postgres", "postgres");
                            PreparedStatement insert = c.prepareStatement("INSERT INTO ledger VALUES (?, ?)")) {
                        long id = writer * 1_000_000L;
                        while (!stop.get()) {
                            try {
                                insert.setLong(1, ++id);
                                insert.setInt(2, writer);
                                insert.executeUpdate(); // autocommit: acknowledged once this returns
                                acknowledged.add(id);
                                lastAck.set(System.nanoTime());
                            } catch (SQLException e) {
                                errors.incrementAndGet(); // in flight when the primary died: 08006, client kept
                                Thread.sleep(20);
                            }
                        }
                    } catch (Exception e) {
                        throw new AssertionError("writer " + writer + " lost its connection", e);
                    }
                }));
            }
            Thread.sleep(1000);
            long killed = System.nanoTime();
            set.server(0).kill();
            long gone = System.nanoTime(); // every process of the old primary has exited: later acks are the new one's
            long deadline = killed + Duration.ofSeconds(60).toNanos();
            while (lastAck.get() - gone <= 0 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(lastAck.get() - gone > 0, "no write was acknowledged within 60 s of the kill");
            System.err.printf("failover: first acknowledged write %d ms after kill -9 of the primary (%d errors)%n",
                    (lastAck.get() - killed) / 1_000_000, errors.get());
            Thread.sleep(500);
            stop.set(true);
            for (Thread t : writers) {
                t.join();
            }
            int promoted = primaryIndex(p, set);
            assertTrue(promoted == 1 || promoted == 2, "a standby is the primary now: " + hosts(p));
            Set<Long> onNewPrimary = new HashSet<>();
            try (Connection c = set.direct(promoted, "app"); Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT id FROM ledger")) {
                while (rs.next()) {
                    onNewPrimary.add(rs.getLong(1));
                }
            }
            Set<Long> lost = new TreeSet<>(acknowledged);
            lost.removeAll(onNewPrimary);
            assertEquals(Set.of(), lost, "acknowledged writes missing on the new primary (of "
                    + acknowledged.size() + ")");

            // The old primary comes back as a primary, on the old timeline: fenced, no write reaches it.
            set.server(0).restart();
            Map<String, String> old = awaitHost(p, set, 0, r -> r.get("state").equals("fenced") && r.get("role").equals("primary"),
                    "was fenced");
            assertTrue(old.get("fenced").contains("replaced by the promotion"), old.toString());
            String metrics = java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://127.0.0.1:" + p.server.metricsPort().orElseThrow() + "/metrics")).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString()).body();
            assertTrue(metrics.contains("pgloom_host_fenced{host=\"" + hostOf(set, 0) + "\"} 1.0"), metrics);
            assertTrue(metrics.contains("pgloom_host_primary{host=\"" + hostOf(set, promoted) + "\"} 1.0"), metrics);
            try (Connection rw = p.connect("app", "postgres", "postgres"); Statement st = rw.createStatement()) {
                for (int i = 0; i < 20; i++) {
                    st.execute("INSERT INTO ledger VALUES (" + (9_000_000 + i) + ", 9)");
                }
                assertEquals(Integer.toString(set.server(promoted).port()), one(rw, "SELECT inet_server_port()"));
            }
            assertEquals("0", set.query(0, "SELECT count(*) FROM ledger WHERE writer = 9"), "a write reached the fenced host");
            assertEquals("20", set.query(promoted, "SELECT count(*) FROM ledger WHERE writer = 9"));

            // The other standby follows the new primary (repoint_standbys).
            int other = promoted == 1 ? 2 : 1;
            long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            String streaming = "0";
            while (!streaming.equals("1") && System.nanoTime() < until) {
                streaming = set.query(promoted, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'");
                Thread.sleep(100);
            }
            assertEquals("1", streaming, "standby " + other + " streams from the new primary");
            assertEquals("standby" + other, set.query(promoted,
                    "SELECT slot_name FROM pg_replication_slots WHERE active"), "through its own slot, made there by pgloom");
            String id = "9000019";
            until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!"1".equals(set.query(other, "SELECT count(*) FROM ledger WHERE id = " + id)) && System.nanoTime() < until) {
                Thread.sleep(100);
            }
            assertEquals("1", set.query(other, "SELECT count(*) FROM ledger WHERE id = " + id), "the repointed standby replays");
        }
    }

    /**
     * The ports of the servers {@code n} clients of {@code database} get at once (each holds its
     * server in a transaction). They leave mid-transaction, so the pool closes those servers.
     */
    static Set<String> serverPorts(Pgloom p, String database, int n) throws SQLException {
        return serverPorts(p, database, n, false);
    }

    /** As above; with {@code keep} the clients end their transactions first, so the servers stay in the pool, idle. */
    static Set<String> serverPorts(Pgloom p, String database, int n, boolean keep) throws SQLException {
        List<Connection> held = new ArrayList<>();
        Set<String> ports = new HashSet<>();
        try {
            for (int i = 0; i < n; i++) {
                Connection c = p.connect(database, "postgres", "postgres");
                held.add(c);
                c.setAutoCommit(false);
                ports.add(one(c, "SELECT inet_server_port()"));
            }
        } finally {
            for (Connection c : held) {
                if (keep) {
                    c.rollback();
                }
                c.close();
            }
        }
        return ports;
    }

    /** How many servers of {@code database} SHOW SERVERS lists per port. */
    static Map<String, Long> serversByPort(Pgloom p, String database) throws IOException {
        Map<String, Long> perPort = new TreeMap<>();
        try (RawClient admin = new RawClient(p.port()).login("postgres", "postgres", "pgbouncer")) {
            for (Map<String, String> r : ConsoleResult.query(admin, "SHOW SERVERS").rows()) {
                if (r.get("database").equals(database)) {
                    perPort.merge(r.get("port"), 1L, Long::sum);
                }
            }
        }
        return perPort;
    }

    @Test
    void aStandbyBackFromDownGetsItsShareOfThePoolAgain() throws Exception {
        try (ReplicaSet set = ReplicaSet.start(2);
                Pgloom p = Pgloom.startWith(ini(set, adminSettings() + FAILOVER), Pgloom.defaultUserlist())) {
            String one = Integer.toString(set.server(1).port());
            String two = Integer.toString(set.server(2).port());
            awaitHost(p, set, 2, r -> r.get("state").equals("up"), "was up");
            signalAll(set, 2, "STOP");
            try {
                awaitHost(p, set, 2, r -> r.get("state").equals("down"), "went down");
                assertEquals(Set.of(one), serverPorts(p, "app_standby", 4, true), "the pool filled up on the standby left");
            } finally {
                signalAll(set, 2, "CONT");
            }
            assertEquals(Map.of(one, 4L), serversByPort(p, "app_standby"));
            awaitHost(p, set, 2, r -> r.get("state").equals("up"), "came back and served its readmit_delay");
            // Four idle servers on standby 1; when standby 2 takes traffic again, two of them go.
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!serversByPort(p, "app_standby").equals(Map.of(one, 2L)) && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(Map.of(one, 2L), serversByPort(p, "app_standby"), "the pool shed half of standby 1's servers");
            // Four clients at once: two reuse standby 1's, two new ones go to the emptier standby 2.
            assertEquals(Set.of(one, two), serverPorts(p, "app_standby", 4, true), "the pool evened out over both standbys");
            assertEquals(Map.of(one, 2L, two, 2L), serversByPort(p, "app_standby"), "two servers on each standby");
        }
    }

    @Test
    void aStandbyLaggingPastMaxReplicaLagTakesNoReadsUntilItCatchesUp() throws Exception {
        try (ReplicaSet set = ReplicaSet.start(2);
                Pgloom p = Pgloom.startWith(ini(set, adminSettings() + FAILOVER + "max_replica_lag = 64kB\n"),
                        Pgloom.defaultUserlist())) {
            String one = Integer.toString(set.server(1).port());
            String two = Integer.toString(set.server(2).port());
            assertEquals(Set.of(one, two), serverPorts(p, "app_standby", 4));
            set.execute(1, "SELECT pg_wal_replay_pause()");
            set.execute(0, "CREATE TABLE filler AS SELECT repeat('x', 1000) AS pad FROM generate_series(1, 2000)");
            Map<String, String> lagging = awaitHost(p, set, 1, r -> Long.parseLong(r.get("lag_bytes")) > 65536, "lagged");
            assertEquals("up", lagging.get("state"), "a lagging standby is up, it only takes no reads");
            assertEquals(Set.of(two), serverPorts(p, "app_standby", 4), "reads left the lagging standby");
            set.execute(1, "SELECT pg_wal_replay_resume()");
            awaitHost(p, set, 1, r -> Long.parseLong(r.get("lag_bytes")) <= 65536 && r.get("state").equals("up"),
                    "caught up and served its readmit_delay");
            assertEquals(Set.of(one, two), serverPorts(p, "app_standby", 4), "reads came back");
        }
    }

    /** SIGSTOP or SIGCONT to a server's postmaster and every process under it. */
    static void signalAll(ReplicaSet set, int i, String signal) throws Exception {
        List<String> command = new ArrayList<>(List.of("kill", "-" + signal));
        ProcessHandle postmaster = ProcessHandle.of(set.server(i).pid()).orElseThrow();
        command.add(Long.toString(postmaster.pid()));
        postmaster.descendants().forEach(h -> command.add(Long.toString(h.pid())));
        assertEquals(0, new ProcessBuilder(command).inheritIO().start().waitFor(), command.toString());
    }

    @Test
    void aHostThatStopsAnsweringIsDownWithinTheProbeTimeoutAndNothingHangs() throws Exception {
        try (ReplicaSet set = ReplicaSet.start(1);
                Pgloom p = Pgloom.startWith(ini(set, adminSettings() + FAILOVER).replace("query_wait_timeout = 30",
                        "query_wait_timeout = 2"), Pgloom.defaultUserlist())) {
            try (Connection ro = p.connect("app_ro", "postgres", "postgres")) {
                assertEquals("t", one(ro, "SELECT pg_is_in_recovery()"));
            }
            awaitHost(p, set, 1, r -> r.get("state").equals("up"), "was up");
            long stopped = System.nanoTime();
            signalAll(set, 1, "STOP"); // accepts TCP (the kernel does), answers nothing
            try {
                Map<String, String> down = awaitHost(p, set, 1, r -> r.get("state").equals("down"), "went down");
                long millis = (System.nanoTime() - stopped) / 1_000_000;
                assertTrue(millis < 5000, "detected after " + millis + " ms; probe_timeout is 1 s");
                assertTrue(down.get("last_error").contains("probe_timeout") || down.get("last_error").contains("timed out"),
                        down.toString());
                // Nothing hangs: writes go on, and prefer-standby falls back to the primary.
                try (Connection rw = p.connect("app", "postgres", "postgres");
                        Connection ro = p.connect("app_ro", "postgres", "postgres")) {
                    assertEquals("f", one(rw, "SELECT pg_is_in_recovery()"));
                    assertEquals("f", one(ro, "SELECT pg_is_in_recovery()"));
                }
                // A standby-only pool has no host: it waits query_wait_timeout, then errors (at login
                // here: the pool's first client waits for a server to learn its parameters).
                long start = System.nanoTime();
                SQLException e = assertThrows(SQLException.class, () -> {
                    try (Connection standby = p.connect("app_standby", "postgres", "postgres")) {
                        one(standby, "SELECT 1");
                    }
                });
                assertTrue(e.getMessage().contains("query_wait_timeout"), e.getMessage());
                assertTrue(System.nanoTime() - start >= Duration.ofMillis(1500).toNanos(), "it waited first");
            } finally {
                signalAll(set, 1, "CONT");
            }
            awaitHost(p, set, 1, r -> r.get("state").equals("up"), "came back");
            try (Connection standby = p.connect("app_standby", "postgres", "postgres")) {
                assertEquals("t", one(standby, "SELECT pg_is_in_recovery()"), "the standby-only pool has its host again");
            }
        }
    }
}
