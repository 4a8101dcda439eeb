package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

/**
 * Replication connections through pgloom (startup parameter {@code replication}), with pgjdbc's
 * replication API against the real server: each gets its own server connection, opened with the
 * client's startup parameters, that streams through untouched and is closed when the client goes;
 * it takes a slot of its pool, evicting an idle server when the pool is full.
 */
class ReplicationTest {
    private static final String SMALL_POOL = "small = host=%s port=%d dbname=app pool_size=1\n";

    private static Pgloom start(String extraSettings) throws Exception {
        TestPostgres.Endpoint pg = TestPostgres.shared();
        return Pgloom.start("transaction", extraSettings, SMALL_POOL.formatted(pg.host(), pg.port()));
    }

    /** A replication connection as pgjdbc opens one: simple query protocol, {@code replication=mode}. */
    private static Connection replication(Pgloom p, String database, String user, String password, String mode,
            String options) throws SQLException {
        Properties props = new Properties();
        PGProperty.USER.set(props, user);
        PGProperty.PASSWORD.set(props, password);
        PGProperty.REPLICATION.set(props, mode);
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(props, "10");
        PGProperty.PREFER_QUERY_MODE.set(props, "simple");
        PGProperty.APPLICATION_NAME.set(props, "repl-test");
        PGProperty.CONNECT_TIMEOUT.set(props, 10);
        PGProperty.SOCKET_TIMEOUT.set(props, 30);
        if (options != null) {
            PGProperty.OPTIONS.set(props, options);
        }
        return DriverManager.getConnection(p.jdbcUrl(database), props);
    }

    private static String value(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            assertTrue(rs.next(), sql + " returned no row");
            return rs.getString(1);
        }
    }

    /** WAL senders the server has now (pgloom's replication servers, nothing else in these tests). */
    private static int walSenders() throws SQLException {
        try (Connection d = TestPostgres.direct("postgres")) {
            return Integer.parseInt(value(d, "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'"));
        }
    }

    private static void eventuallyNoWalSender() throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (walSenders() > 0 && System.nanoTime() < until) {
            Thread.sleep(50);
        }
        assertEquals(0, walSenders(), "a replication client's server is closed when the client goes");
    }

    @Test
    void logicalReplicationStreamsChangesThroughItsOwnServer() throws Exception {
        TestPostgres.execute("app", "CREATE TABLE IF NOT EXISTS repl_logical (a int)");
        String slot = "pgloom_repl_logical";
        try (Pgloom p = start("")) {
            try (Connection c = replication(p, "app", "postgres", "postgres", "database", "-c enable_seqscan=off")) {
                // The startup parameters reached the server as they were: options included.
                assertEquals("repl-test", value(c, "SHOW application_name"));
                assertEquals("off", value(c, "SHOW enable_seqscan"), "options passed through to the walsender");
                assertTrue(value(c, "IDENTIFY_SYSTEM").matches("\\d+"), "a replication command ran");
                PGConnection pg = c.unwrap(PGConnection.class);
                pg.getReplicationAPI().createReplicationSlot().logical().withSlotName(slot)
                        .withOutputPlugin("test_decoding").make();
                PGReplicationStream stream = pg.getReplicationAPI().replicationStream().logical()
                        .withSlotName(slot).withStatusInterval(1, TimeUnit.SECONDS).start();
                // An ordinary pooled client of the same database writes meanwhile.
                try (Connection writer = p.connect("app", "postgres", "postgres"); Statement s = writer.createStatement()) {
                    s.execute("INSERT INTO repl_logical VALUES (42)");
                }
                String changes = readUntil(stream, "INSERT");
                assertTrue(changes.contains("table public.repl_logical: INSERT: a[integer]:42"), changes);
                stream.close();
            } finally {
                eventuallyNoWalSender();
                TestPostgres.execute("app", "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
                        + " WHERE slot_name = '" + slot + "'");
            }
            try (Connection c = p.connect()) {
                assertEquals("1", value(c, "SELECT 1"), "the pool serves ordinary clients as before");
            }
        }
    }

    /** Decoded changes read from {@code stream} until one contains {@code marker} (at most 15 s). */
    private static String readUntil(PGReplicationStream stream, String marker) throws Exception {
        StringBuilder seen = new StringBuilder();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < until) {
            ByteBuffer msg = stream.readPending();
            if (msg == null) {
                Thread.sleep(10);
                continue;
            }
            String text = new String(msg.array(), msg.arrayOffset() + msg.position(), msg.remaining(), StandardCharsets.UTF_8);
            seen.append(text).append('\n');
            stream.setAppliedLSN(stream.getLastReceiveLSN());
            stream.setFlushedLSN(stream.getLastReceiveLSN());
            if (text.contains(marker)) {
                return seen.toString();
            }
        }
        throw new AssertionError("no change with " + marker + " within 15 s; seen: " + seen);
    }

    @Test
    void physicalReplicationStreamsWalAndRefusesSqlAsTheServerDoes() throws Exception {
        try (Pgloom p = start("admin_users = postgres\n");
                Connection c = replication(p, "app", "postgres", "postgres", "true", null)) {
            try (RawClient admin = new RawClient(p.port()).login("postgres", "postgres", "pgbouncer")) {
                ConsoleResult clients = ConsoleResult.of(admin.simpleQuery("SHOW CLIENTS"));
                List<Map<String, String>> streaming = clients.where("application_name", "repl-test");
                assertEquals(1, streaming.size(), clients.rows().toString());
                assertEquals("physical", streaming.getFirst().get("replication"), "SHOW CLIENTS' replication column");
                assertEquals("active", streaming.getFirst().get("state"));
                ConsoleResult servers = ConsoleResult.of(admin.simpleQuery("SHOW SERVERS"));
                List<Map<String, String>> own = servers.where("link", streaming.getFirst().get("ptr"));
                assertEquals(1, own.size(), "its own server is listed, linked to it: " + servers.rows());
                assertEquals("physical", own.getFirst().get("replication"));
                assertEquals("active", own.getFirst().get("state"));
                assertEquals(streaming.getFirst().get("link"), own.getFirst().get("ptr"), "and the client names it");
            }
            String systemId;
            try (Connection d = TestPostgres.direct("postgres")) {
                systemId = value(d, "SELECT system_identifier FROM pg_control_system()");
            }
            String lsn;
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("IDENTIFY_SYSTEM")) {
                assertTrue(rs.next());
                assertEquals(systemId, rs.getString("systemid"), "IDENTIFY_SYSTEM answered by the real server");
                lsn = rs.getString("xlogpos");
            }
            SQLException sql = assertThrows(SQLException.class, () -> value(c, "SELECT 1"));
            assertEquals("0A000", sql.getSQLState());
            assertTrue(sql.getMessage().contains("cannot execute SQL commands in WAL sender for physical replication"),
                    sql.getMessage());
            PGReplicationStream stream = c.unwrap(PGConnection.class).getReplicationAPI().replicationStream().physical()
                    .withStartPosition(LogSequenceNumber.valueOf(lsn)).start();
            TestPostgres.execute("app", "CREATE TABLE IF NOT EXISTS repl_physical (a int); INSERT INTO repl_physical VALUES (1)");
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            ByteBuffer wal = null;
            while (wal == null && System.nanoTime() < until) {
                wal = stream.readPending();
                if (wal == null) {
                    Thread.sleep(10);
                }
            }
            assertTrue(wal != null && wal.remaining() > 0, "WAL streamed through pgloom");
            stream.close();
        }
        eventuallyNoWalSender();
    }

    @Test
    void aRoleWithoutReplicationRightsHearsTheServersRefusal() throws Exception {
        try (Pgloom p = start("")) {
            SQLException e = assertThrows(SQLException.class,
                    () -> replication(p, "app", "bob", "bob-secret", "database", null).close());
            assertEquals("42501", e.getSQLState(), "the server's own SQLSTATE: " + e.getMessage());
            assertTrue(e.getMessage().startsWith("FATAL: server login failed: "), e.getMessage());
            try (Connection c = p.connect("app", "bob", "bob-secret")) {
                assertEquals("bob", value(c, "SELECT current_user"), "bob's ordinary logins still work");
            }
        }
    }

    @Test
    void aReplicationClientTakesAPoolSlotAndEvictsAnIdleServer() throws Exception {
        try (Pgloom p = start("query_wait_timeout = 1\n")) {
            try (Connection c = p.connect("small", "postgres", "postgres")) {
                assertEquals("1", value(c, "SELECT 1")); // the pool's one server is now idle
            }
            try (Connection first = replication(p, "small", "postgres", "postgres", "database", null)) {
                assertTrue(value(first, "IDENTIFY_SYSTEM").matches("\\d+"), "it got the slot of the evicted idle server");
                SQLException full = assertThrows(SQLException.class,
                        () -> replication(p, "small", "postgres", "postgres", "database", null).close());
                assertTrue(full.getMessage().contains("query_wait_timeout"),
                        "pool_size = 1 is held by the first replication client: " + full.getMessage());
            }
            eventuallyNoWalSender();
            try (Connection c = p.connect("small", "postgres", "postgres")) {
                assertEquals("1", value(c, "SELECT 1"), "the slot came back to the pool");
            }
        }
    }

    @Test
    void hbaRulesTreatPhysicalReplicationApartAsPostgresqlDoes() throws Exception {
        Path hba = Files.createTempFile("pgloom-repl-hba-", ".conf");
        try {
            Files.writeString(hba, "host app postgres 127.0.0.1/32 scram-sha-256\n");
            try (Pgloom p = start("auth_type = hba\nauth_hba_file = " + hba + "\n")) {
                try (Connection logical = replication(p, "app", "postgres", "postgres", "database", null)) {
                    assertTrue(value(logical, "IDENTIFY_SYSTEM").matches("\\d+"), "logical replication is matched by database");
                }
                SQLException physical = assertThrows(SQLException.class,
                        () -> replication(p, "app", "postgres", "postgres", "true", null).close());
                assertEquals("28000", physical.getSQLState());
                assertEquals("FATAL: no pg_hba.conf entry for replication connection from host \"127.0.0.1\", user \"postgres\","
                        + " no encryption", physical.getMessage(), "only the replication keyword covers physical replication");
            }
        } finally {
            Files.deleteIfExists(hba);
        }
    }

    @Test
    void anInvalidReplicationValueIsRefused() throws Exception {
        try (Pgloom p = start("")) {
            SQLException e = assertThrows(SQLException.class,
                    () -> replication(p, "app", "postgres", "postgres", "sideways", null).close());
            assertTrue(e.getMessage().contains("invalid value for parameter \"replication\""), e.getMessage());
        }
    }
}
