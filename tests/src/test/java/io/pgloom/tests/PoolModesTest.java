package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postgresql.PGConnection;

/** What every client relies on, through pgloom, in each of the three pool modes. */
class PoolModesTest {

    @BeforeAll
    static void table() throws Exception {
        TestPostgres.execute("app", "CREATE TABLE IF NOT EXISTS modes (id int, mode text)");
        TestPostgres.execute("app", "GRANT ALL ON modes TO alice");
    }

    @ParameterizedTest
    @ValueSource(strings = {"session", "transaction", "statement"})
    void simpleAndExtendedQueriesWork(String mode) throws Exception {
        try (Pgloom p = Pgloom.start(mode, ""); Connection c = p.connect()) {
            try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT current_user, 40 + 2")) {
                assertTrue(rs.next());
                assertEquals("alice", rs.getString(1));
                assertEquals(42, rs.getInt(2));
            }
            // pgjdbc switches to a named server-side statement after prepareThreshold uses; keep it unnamed here.
            try (PreparedStatement ps = c.prepareStatement("SELECT ?::int * 2, ?::text")) {
                for (int i = 0; i < 3; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "x" + i);
                    try (ResultSet rs = ps.executeQuery()) {
                        assertTrue(rs.next());
                        assertEquals(i * 2, rs.getInt(1));
                        assertEquals("x" + i, rs.getString(2));
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"session", "transaction"})
    void transactionsCommitAndRollBack(String mode) throws Exception {
        TestPostgres.execute("app", "DELETE FROM modes WHERE mode = '" + mode + "'");
        try (Pgloom p = Pgloom.start(mode, ""); Connection c = p.connect()) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                s.execute("INSERT INTO modes VALUES (1, '" + mode + "')");
                c.commit();
                s.execute("INSERT INTO modes VALUES (2, '" + mode + "')");
                c.rollback();
            }
            c.setAutoCommit(true);
            try (Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT array_agg(id ORDER BY id)::text FROM modes WHERE mode = '" + mode + "'")) {
                assertTrue(rs.next());
                assertEquals("{1}", rs.getString(1));
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"session", "transaction", "statement"})
    void copyInAndOutStream(String mode) throws Exception {
        try (Pgloom p = Pgloom.start(mode, ""); Connection c = p.connect()) {
            try (Statement s = c.createStatement()) {
                s.execute("CREATE TEMP TABLE IF NOT EXISTS copy_" + mode + " (n int, t text)");
            }
            if (!mode.equals("session")) {
                // Temp tables live in one backend; outside session mode use a real table.
                TestPostgres.execute("app", "CREATE TABLE IF NOT EXISTS copy_shared_" + mode + " (n int, t text)");
                TestPostgres.execute("app", "GRANT ALL ON copy_shared_" + mode + " TO alice");
                TestPostgres.execute("app", "TRUNCATE copy_shared_" + mode);
            }
            String table = mode.equals("session") ? "copy_" + mode : "copy_shared_" + mode;
            StringBuilder data = new StringBuilder();
            for (int i = 0; i < 20_000; i++) {
                data.append(i).append('\t').append("row-").append(i).append('\n');
            }
            long in = ((PGConnection) c).getCopyAPI().copyIn("COPY " + table + " FROM STDIN", new StringReader(data.toString()));
            assertEquals(20_000, in);
            StringWriter w = new StringWriter();
            long outRows = ((PGConnection) c).getCopyAPI().copyOut("COPY (SELECT * FROM " + table + " ORDER BY n) TO STDOUT", w);
            assertEquals(20_000, outRows);
            assertEquals(data.toString(), w.toString());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"session", "transaction", "statement"})
    void largeResultsStreamAndPipelinedQueriesAllAnswer(String mode) throws Exception {
        try (Pgloom p = Pgloom.start(mode, ""); Connection c = p.connect()) {
            c.setAutoCommit(mode.equals("statement"));
            try (Statement s = c.createStatement()) {
                s.setFetchSize(mode.equals("statement") ? 0 : 1000);
                long sum = 0;
                int rows = 0;
                try (ResultSet rs = s.executeQuery("SELECT g, repeat('x', 100) FROM generate_series(1, 300000) g")) {
                    while (rs.next()) {
                        sum += rs.getLong(1);
                        rows++;
                    }
                }
                assertEquals(300_000, rows);
                assertEquals(300_000L * 300_001L / 2, sum);
            }
            if (!mode.equals("statement")) {
                c.commit();
            }
        }
        try (Pgloom p = Pgloom.start(mode, ""); RawClient raw = new RawClient(p.port())) {
            raw.login("alice", "alice-secret", "app");
            List<byte[]> batch = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                batch.add(RawClient.query("SELECT " + i));
            }
            raw.send(RawClient.concat(batch.toArray(byte[][]::new)));
            for (int i = 0; i < 200; i++) {
                List<RawClient.Message> answer = raw.readUntil('Z');
                assertEquals(String.valueOf(i), RawClient.firstValue(answer), "answer " + i + " in order");
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"session", "transaction"})
    void noticesAndNotificationsReachTheClient(String mode) throws Exception {
        try (Pgloom p = Pgloom.start(mode, ""); RawClient raw = new RawClient(p.port())) {
            raw.login("alice", "alice-secret", "app");
            List<RawClient.Message> ms = raw.simpleQuery("DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$");
            assertTrue(ms.stream().anyMatch(m -> m.type() == 'N' && m.text().contains("hello from plpgsql")));
            // LISTEN and NOTIFY in one transaction: the notification arrives before ReadyForQuery.
            ms = raw.simpleQuery("BEGIN; LISTEN ch; NOTIFY ch, 'payload-1'; COMMIT");
            assertTrue(ms.stream().anyMatch(m -> m.type() == 'A' && m.text().contains("payload-1")), "NotificationResponse relayed");
            assertFalse(raw.closedByPeerQuickly());
        }
    }
}
