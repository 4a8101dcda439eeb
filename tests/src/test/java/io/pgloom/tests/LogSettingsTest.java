package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.AppenderBase;
import io.pgloom.server.control.Pooler;
import io.pgloom.wire.protocol.MessageBuilder;
import java.nio.file.Files;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.LoggerFactory;

/**
 * log_connections, log_disconnections, log_pooler_errors, log_stats and the syslog warnings, read
 * off what a real pgloom logs while real clients log in, get refused and leave. Lines are captured
 * by an appender on logback's root logger; every assertion matches on the client's own port (or a
 * database name made for the test), so lines of other pgloom instances in this JVM cannot match.
 */
class LogSettingsTest {

    /** Collects every log line (level, logger and message) while open. */
    static final class LogCapture extends AppenderBase<ILoggingEvent> implements AutoCloseable {
        private final ConcurrentLinkedQueue<String> lines = new ConcurrentLinkedQueue<>();
        private final ch.qos.logback.classic.Logger root;

        LogCapture() {
            LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
            root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
            setContext(context);
            setName("log-settings-test-" + UUID.randomUUID());
            start();
            root.addAppender(this);
        }

        @Override
        protected void append(ILoggingEvent e) {
            lines.add(e.getLevel() + " " + e.getLoggerName() + ": " + e.getFormattedMessage());
        }

        List<String> matching(Predicate<String> p) {
            return lines.stream().filter(p).toList();
        }

        /** The first line that matches, waiting up to 30 s for it. */
        String await(String what, Predicate<String> p) throws InterruptedException {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (System.nanoTime() - deadline < 0) {
                List<String> m = matching(p);
                if (!m.isEmpty()) {
                    return m.getFirst();
                }
                Thread.sleep(20);
            }
            return fail("no log line " + what + " within 30 s; lines:\n" + String.join("\n", lines));
        }

        void assertNone(String what, Predicate<String> p) {
            List<String> m = matching(p);
            assertTrue(m.isEmpty(), "expected no log line " + what + ", got " + m);
        }

        @Override
        public void close() {
            root.detachAppender(this);
            stop();
        }
    }

    /** "from 127.0.0.1:<port>": how every line about the client on that local port names it. */
    private static String from(RawClient c) {
        return "from 127.0.0.1:" + c.socket.getLocalPort();
    }

    private static Predicate<String> about(String from, String what) {
        return l -> l.contains(from + ": " + what);
    }

    /** Waits until pgloom has no client left: its disconnect lines, if any, are written by then. */
    private static void awaitNoClients(Pgloom p) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (p.server.pooler().clientCount() > 0) {
            assertTrue(System.nanoTime() - deadline < 0, "clients still connected after 30 s");
            Thread.sleep(20);
        }
    }

    @Test
    void aServerConnectionThatNeverLoggedInHasItsCloseLineInPgBouncersWords() throws Exception {
        try (LogCapture log = new LogCapture();
                java.net.ServerSocket silent = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
                Pgloom p = Pgloom.start("transaction", "server_connect_timeout = 1\nquery_wait_timeout = 2\n",
                        "silentdb = host=127.0.0.1 port=" + silent.getLocalPort() + " dbname=app\n")) {
            // The kernel completes the connection (backlog); nobody ever answers the startup packet.
            assertThrows(RawClient.LoginFailed.class, () -> new RawClient(p.port()).login("alice", "alice-secret", "silentdb"));
            String line = log.await("for the server's close", l -> l.contains("silentdb/alice (server 127.0.0.1:"
                    + silent.getLocalPort() + "): closing because: connect timeout (age="));
            assertTrue(line.startsWith("INFO "), line);
        }
    }

    @Test
    void loginAndDisconnectLinesFollowLogConnectionsAndLogDisconnectionsAcrossSetAndReload() throws Exception {
        try (LogCapture log = new LogCapture();
             Pgloom p = Pgloom.start("transaction", "admin_users = postgres\n")) {
            String first;
            try (RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
                first = from(c);
                String login = log.await("for the login", about(first, "login ok"));
                assertTrue(login.contains("alice@app " + first), login);
                c.terminate();
            }
            String closed = log.await("for the disconnect", about(first, "closing because: client close request (age="));
            assertTrue(closed.matches(".*C-\\p{XDigit}+ alice@app " + first + ": .*\\(age=\\d+\\.\\d{3}s\\)$"), closed);

            try (RawClient admin = new RawClient(p.port()).login("postgres", "postgres", "pgbouncer")) {
                admin.simpleQuery("SET log_connections = 0");
                admin.simpleQuery("SET log_disconnections = 0");
                String adminFrom = from(admin);
                try (RawClient c = new RawClient(p.port()).login("bob", "bob-secret", "app")) {
                    c.simpleQuery("SELECT 1"); // past its login: the login line would be written by now
                    log.assertNone("for a login with log_connections = 0", about(from(c), "login ok"));
                    String quiet = from(c);
                    c.terminate();
                    c.close();
                    admin.simpleQuery("SHOW VERSION");
                    admin.terminate();
                    awaitNoClients(p);
                    log.assertNone("for a disconnect with log_disconnections = 0", about(quiet, "closing because"));
                    log.assertNone("for the admin's disconnect", about(adminFrom, "closing because"));
                }
            }

            // RELOAD returns to the file: both are 1 by default.
            assertTrue(p.server.reload());
            try (RawClient c = new RawClient(p.port()).login("bob", "bob-secret", "app")) {
                log.await("for a login after RELOAD", about(from(c), "login ok"));
            }

            Files.writeString(p.ini, Files.readString(p.ini) + "log_connections = 0\n");
            assertTrue(p.server.reload());
            try (RawClient c = new RawClient(p.port()).login("bob", "bob-secret", "app")) {
                c.simpleQuery("SELECT 1");
                log.assertNone("for a login with log_connections = 0 in the file", about(from(c), "login ok"));
                String f = from(c);
                c.terminate();
                log.await("for the disconnect (log_disconnections still 1)", about(f, "closing because: client close request"));
            }
        }
    }

    @Test
    void adminConsoleLoginFollowsLogConnections() throws Exception {
        try (LogCapture log = new LogCapture();
             Pgloom p = Pgloom.start("transaction", "admin_users = postgres\n")) {
            try (RawClient admin = new RawClient(p.port()).login("postgres", "postgres", "pgbouncer")) {
                log.await("for the console login", about(from(admin), "admin console login ok (admin rights)"));
                admin.simpleQuery("SET log_connections = 0");
            }
            try (RawClient admin = new RawClient(p.port()).login("postgres", "postgres", "pgbouncer")) {
                admin.simpleQuery("SHOW VERSION");
                log.assertNone("for a console login with log_connections = 0", about(from(admin), "admin console login ok"));
            }
        }
    }

    @Test
    void aServerThatRefusesTheLoginIsLoggedInPgBouncersWords() throws Exception {
        TestPostgres.Endpoint pg = TestPostgres.shared();
        String missing = "gone = host=%s port=%d dbname=no_such_pg_database\n".formatted(pg.host(), pg.port());
        try (LogCapture log = new LogCapture(); Pgloom p = Pgloom.start("transaction", "", missing)) {
            RawClient c = new RawClient(p.port());
            var e = assertThrows(RawClient.LoginFailed.class, () -> c.login("alice", "alice-secret", "gone"));
            assertEquals("3D000", e.error.sqlState());
            String line = log.await("for the server's refusal",
                    l -> l.contains("server login failed: FATAL database \"no_such_pg_database\" does not exist"));
            assertTrue(line.contains("SQLSTATE 3D000"), line);
            log.await("for the client's close", l -> l.contains("closing because: database \"no_such_pg_database\" does not exist"));
            c.close();
        }
    }

    @Test
    void poolerErrorsAreLoggedUnlessLogPoolerErrorsIsOff() throws Exception {
        try (LogCapture log = new LogCapture();
             Pgloom p = Pgloom.start("transaction", "")) {
            RawClient c = new RawClient(p.port());
            var e = assertThrows(RawClient.LoginFailed.class, () -> c.login("alice", "alice-secret", "nosuchdb"));
            assertEquals("3D000", e.error.sqlState());
            String line = log.await("for the pooler error", about(from(c), "pooler error: FATAL 3D000 no such database: nosuchdb"));
            assertTrue(line.startsWith("WARN "), line);
            assertTrue(line.contains("alice@nosuchdb " + from(c)), line);
            c.close();

            Files.writeString(p.ini, Files.readString(p.ini) + "log_pooler_errors = 0\n");
            assertTrue(p.server.reload());
            RawClient quiet = new RawClient(p.port());
            assertThrows(RawClient.LoginFailed.class, () -> quiet.login("alice", "wrong", "app"));
            // The error is logged before it is sent, so by now it would be there.
            log.assertNone("for a pooler error with log_pooler_errors = 0", about(from(quiet), "pooler error"));
            log.await("for the disconnect, which log_disconnections still logs",
                    about(from(quiet), "closing because: password authentication failed for user \"alice\""));
            quiet.close();
        }
    }

    /** One way pgloom refuses or drops a client; {@code run} does it and returns the client. */
    @FunctionalInterface
    interface Refusal {
        RawClient run(Pgloom p) throws Exception;
    }

    static Stream<Arguments> refusals() {
        String idle = "client_idle_timeout = 1\n";
        return Stream.of(
                Arguments.of("wrong password, scram", "", "alice@app",
                        "password authentication failed for user \"alice\" (SCRAM: ", (Refusal) p -> loginFails(p, "alice", "nope", "app")),
                Arguments.of("unknown user, scram", "", "ghost@app",
                        "password authentication failed for user \"ghost\" (unknown user, SCRAM)", (Refusal) p -> loginFails(p, "ghost", "x", "app")),
                Arguments.of("wrong password, md5", "auth_type = md5\n", "alice@app",
                        "password authentication failed for user \"alice\" (wrong password, md5)", (Refusal) p -> loginFails(p, "alice", "nope", "app")),
                Arguments.of("unknown user, plain", "auth_type = plain\n", "ghost@app",
                        "password authentication failed for user \"ghost\" (unknown user, auth_type plain)", (Refusal) p -> loginFails(p, "ghost", "x", "app")),
                Arguments.of("unknown user, trust", "auth_type = trust\n", "ghost@app",
                        "\"trust\" authentication failed for user \"ghost\" (unknown user, auth_type trust)", (Refusal) p -> loginFails(p, "ghost", "", "app")),
                Arguments.of("unknown database", "", "alice@nosuchdb", "no such database: nosuchdb",
                        (Refusal) p -> loginFails(p, "alice", "alice-secret", "nosuchdb")),
                Arguments.of("disabled database", "", "alice@app", "database \"app\" is disabled", (Refusal) p -> {
                    p.server.pooler().disable("app");
                    return loginFails(p, "alice", "alice-secret", "app");
                }),
                Arguments.of("max_client_conn", "max_client_conn = 1\n", "bob@app",
                        "no more connections allowed (max_client_conn)", (Refusal) p -> {
                            RawClient holder = new RawClient(p.port()).login("alice", "alice-secret", "app");
                            RawClient c = loginFails(p, "bob", "bob-secret", "app");
                            holder.close();
                            return c;
                        }),
                Arguments.of("query_wait_timeout", "default_pool_size = 1\nquery_wait_timeout = 1\n",
                        "alice@app", "query_wait_timeout", (Refusal) p -> {
                            RawClient holder = new RawClient(p.port()).login("alice", "alice-secret", "app");
                            holder.simpleQuery("BEGIN");
                            RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app");
                            c.send(RawClient.query("SELECT 1"));
                            assertEquals("query_wait_timeout", c.readError().message());
                            holder.close();
                            return c;
                        }),
                Arguments.of("client_login_timeout, password never sent", "client_login_timeout = 1\n", "alice@app",
                        "client_login_timeout", (Refusal) p -> {
                            RawClient c = new RawClient(p.port());
                            c.send(RawClient.startupPacket(Map.of("user", "alice", "database", "app")));
                            assertEquals("client_login_timeout", c.readError().message());
                            return c;
                        }),
                Arguments.of("client_login_timeout, no startup packet", "client_login_timeout = 1\n", "(no startup packet yet)",
                        "client_login_timeout", (Refusal) p -> {
                            RawClient c = new RawClient(p.port());
                            assertEquals("client_login_timeout", c.readError().message());
                            return c;
                        }),
                Arguments.of("client_idle_timeout", idle, "alice@app", "client_idle_timeout", (Refusal) p -> {
                    RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app");
                    assertEquals("client_idle_timeout", c.readError().message());
                    return c;
                }),
                Arguments.of("idle_transaction_timeout", "idle_transaction_timeout = 1\n", "alice@app", "idle transaction timeout",
                        (Refusal) p -> {
                            RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app");
                            c.simpleQuery("BEGIN");
                            assertEquals("idle transaction timeout", c.readError().message());
                            return c;
                        }),
                Arguments.of("malformed startup packet", "", "(no startup packet yet)", "invalid length of startup packet", (Refusal) p -> {
                    RawClient c = new RawClient(p.port());
                    c.send(new byte[] {0, 0, 0, 2, 0, 0, 0, 0});
                    c.readError();
                    return c;
                }),
                Arguments.of("unknown message type after login", "", "alice@app", "unsupported pkt type", (Refusal) p -> {
                    RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app");
                    c.send(new MessageBuilder('!').build());
                    c.readError();
                    return c;
                }),
                Arguments.of("TLS refused, client gives up", "", "(no startup packet yet)",
                        "client closed the connection after pgloom refused TLS", (Refusal) p -> {
                            RawClient c = new RawClient(p.port());
                            c.send(new MessageBuilder().int32(80877103).build());
                            assertEquals('N', c.socket.getInputStream().read());
                            c.socket.shutdownOutput(); // as a client with sslmode=require does
                            return c;
                        }),
                Arguments.of("admin console, not an admin or stats user", "", "bob@pgbouncer",
                        "not allowed (admin console: \"bob\" is in neither admin_users nor stats_users)",
                        (Refusal) p -> loginFails(p, "bob", "bob-secret", "pgbouncer")),
                Arguments.of("KILL_CLIENT", "", "alice@app", "admin forced disconnect", (Refusal) p -> {
                    RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app");
                    String ptr = "C-" + Integer.toHexString(c.backendPid);
                    int id = p.server.pooler().clientViews().stream().filter(v -> v.ptr().equals(ptr))
                            .findFirst().orElseThrow().id();
                    assertTrue(p.server.pooler().killClient(id), "SHOW CLIENTS' id");
                    c.readError();
                    return c;
                }),
                Arguments.of("KILL db", "", "alice@app", "database removed", (Refusal) p -> {
                    RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app");
                    p.server.pooler().kill("app");
                    c.readError();
                    return c;
                }),
                Arguments.of("shutdown", "", "alice@app", "server shutting down (pgloom is stopping)", (Refusal) p -> {
                    RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app");
                    p.server.shutdown(Duration.ofSeconds(10));
                    c.readError();
                    return c;
                }));
    }

    private static RawClient loginFails(Pgloom p, String user, String password, String database) throws Exception {
        RawClient c = new RawClient(p.port());
        assertThrows(RawClient.LoginFailed.class, () -> c.login(user, password, database));
        return c;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void everyRefusalAndDropNamesTheClientAndTheReason(String name, String settings, String who, String reason,
                                                       Refusal refusal) throws Exception {
        try (LogCapture log = new LogCapture();
             Pgloom p = Pgloom.start("transaction", settings)) {
            RawClient c = refusal.run(p);
            String f = from(c);
            String line = log.await("closing the client " + f, about(f, "closing because: "));
            assertTrue(line.contains(" " + who + " " + f + ": closing because: " + reason), line);
            assertTrue(line.matches(".*\\(age=\\d+\\.\\d{3}s\\)$"), line);
            c.close();
        }
    }

    @Test
    void logStatsWritesOneLinePerDatabaseEveryStatsPeriodAndStopsWhenTurnedOff() throws Exception {
        String db = "stats_" + UUID.randomUUID().toString().substring(0, 8).replace('-', '_');
        TestPostgres.Endpoint pg = TestPostgres.shared();
        String extraDb = db + " = host=" + pg.host() + " port=" + pg.port() + " dbname=app\n";
        Predicate<String> statsLine = l -> l.contains("stats for database " + db + ": ");
        try (LogCapture log = new LogCapture();
             Pgloom p = Pgloom.start("transaction", "stats_period = 1\nadmin_users = postgres\n", extraDb)) {
            try (RawClient c = new RawClient(p.port()).login("alice", "alice-secret", db)) {
                for (int i = 0; i < 20; i++) {
                    c.simpleQuery("SELECT 1");
                }
                String line = log.await("with " + db + "'s queries", statsLine.and(l -> !l.contains(": 0 xacts/s, 0 queries/s")));
                assertTrue(line.matches("INFO .*stats for database " + db + ": \\d+ xacts/s, \\d+ queries/s, in \\d+ B/s,"
                        + " out \\d+ B/s, xact \\d+ us, query \\d+ us, wait \\d+ us"), line);

                try (RawClient admin = new RawClient(p.port()).login("postgres", "postgres", "pgbouncer")) {
                    admin.simpleQuery("SET log_stats = 0");
                }
                awaitStatsTicks(p.server.pooler(), 2); // a line of a tick under way may still come; after two, none
                int before = log.matching(statsLine).size();
                c.simpleQuery("SELECT 1");
                awaitStatsTicks(p.server.pooler(), 3);
                assertEquals(before, log.matching(statsLine).size(), "no stats line with log_stats = 0");
            }
        }
    }

    @Test
    void logStatsZeroFromTheStartLogsNoStats() throws Exception {
        String db = "stats_" + UUID.randomUUID().toString().substring(0, 8);
        TestPostgres.Endpoint pg = TestPostgres.shared();
        String extraDb = db + " = host=" + pg.host() + " port=" + pg.port() + " dbname=app\n";
        try (LogCapture log = new LogCapture();
             Pgloom p = Pgloom.start("transaction", "stats_period = 1\nlog_stats = 0\n", extraDb)) {
            try (RawClient c = new RawClient(p.port()).login("alice", "alice-secret", db)) {
                c.simpleQuery("SELECT 1");
                awaitStatsTicks(p.server.pooler(), 3);
                log.assertNone("of stats", l -> l.contains("stats for database " + db));
            }
        }
    }

    /**
     * Waits until the stats-period thread has rotated the statistics {@code n} more times: the
     * averages' base (µs since the older tick) drops at each tick. Whatever a tick logs is logged
     * before the next tick, so after n ticks the lines of the first n-1 are all written.
     */
    private static void awaitStatsTicks(Pooler pooler, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        long last = pooler.statsBase().micros();
        int seen = 0;
        while (seen < n) {
            assertTrue(System.nanoTime() - deadline < 0, "stats_period ticks did not come within 60 s");
            Thread.sleep(20);
            long now = pooler.statsBase().micros();
            if (now < last) {
                seen++;
            }
            last = now;
        }
    }

    @Test
    void syslogWarningsAreLoggedAtStartAndOnReload() throws Exception {
        try (LogCapture log = new LogCapture();
             Pgloom p = Pgloom.start("transaction", "syslog = 1\nsyslog_ident = myapp\n")) {
            Predicate<String> syslog = l -> l.startsWith("WARN ") && l.contains("syslog = 1 is not supported;"
                    + " pgloom logs to stderr and logfile");
            Predicate<String> ident = l -> l.startsWith("WARN ")
                    && l.contains("syslog_ident has no effect: pgloom does not log to syslog");
            log.await("about syslog = 1 at start", syslog);
            log.await("about syslog_ident at start", ident);
            int before = log.matching(syslog).size();
            assertTrue(p.server.reload());
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (log.matching(syslog).size() == before) {
                assertTrue(System.nanoTime() - deadline < 0, "no syslog warning on reload");
                Thread.sleep(20);
            }
            assertFalse(log.matching(syslog).isEmpty());
        }
    }
}
