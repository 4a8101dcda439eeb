package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.MessageBuilder;
import java.nio.file.Files;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Named prepared statements in transaction mode (max_prepared_statements): pgjdbc's server-side
 * statements across pooled servers, and the exact answers pgloom gives in their place.
 */
class PreparedStatementsTest {

    private static final String ONE_SERVER = "default_pool_size = 1\n";
    private static final String ADD_ONE = "SELECT $1::int + 1";

    @BeforeAll
    static void tables() throws Exception {
        TestPostgres.execute("app", "CREATE TABLE IF NOT EXISTS ps_batch (client int, n int)");
        TestPostgres.execute("app", "GRANT ALL ON ps_batch TO alice");
        TestPostgres.execute("app", "CREATE TABLE IF NOT EXISTS ps_unique (id int PRIMARY KEY)");
        TestPostgres.execute("app", "GRANT ALL ON ps_unique TO alice");
    }

    // ---------------------------------------------------------------- pgjdbc

    @ParameterizedTest(name = "{0} mode, prepareThreshold={1}")
    @CsvSource({"transaction, 1", "transaction, 5", "statement, 1"})
    void pgjdbcStatementsWorkAcrossServers(String mode, String threshold) throws Exception {
        int clients = 6;
        int rounds = 150;
        try (Pgloom p = Pgloom.start(mode, "default_pool_size = 2\n");
                ExecutorService pool = Executors.newFixedThreadPool(clients)) {
            Set<Integer> pidsOfSharedStatement = ConcurrentHashMap.newKeySet();
            List<Future<Integer>> done = new ArrayList<>();
            for (int k = 0; k < clients; k++) {
                int client = k;
                done.add(pool.submit(() -> {
                    Properties props = new Properties();
                    props.setProperty("prepareThreshold", threshold);
                    int ok = 0;
                    try (Connection c = p.connect(props);
                            PreparedStatement shared = c.prepareStatement("SELECT ?::int + 1, pg_backend_pid()");
                            PreparedStatement own = c.prepareStatement("SELECT ?::int * " + (client + 2) + ", ?::text");
                            PreparedStatement common = c.prepareStatement("SELECT length(?::text)")) {
                        for (int i = 0; i < rounds; i++) {
                            shared.setInt(1, i);
                            try (ResultSet rs = shared.executeQuery()) {
                                rs.next();
                                pidsOfSharedStatement.add(rs.getInt(2));
                                ok += rs.getInt(1) == i + 1 ? 1 : 0;
                            }
                            own.setInt(1, i);
                            own.setString(2, "c" + client);
                            try (ResultSet rs = own.executeQuery()) {
                                rs.next();
                                ok += rs.getInt(1) == i * (client + 2) && rs.getString(2).equals("c" + client) ? 1 : 0;
                            }
                            common.setString(1, "x".repeat(i % 7));
                            try (ResultSet rs = common.executeQuery()) {
                                rs.next();
                                ok += rs.getInt(1) == i % 7 ? 1 : 0;
                            }
                        }
                        try (Statement s = c.createStatement();
                                ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'PGLOOM_%'")) {
                            rs.next();
                            assertTrue(rs.getInt(1) > 0, "the server holds pgloom's statements");
                        }
                    }
                    return ok;
                }));
            }
            for (Future<Integer> f : done) {
                assertEquals(3 * rounds, f.get(120, TimeUnit.SECONDS), "every result right");
            }
            assertEquals(2, pidsOfSharedStatement.size(), "the same named statement ran on both servers");
        }
    }

    @Test
    void pgjdbcBatchesPipelineThroughPooledServers() throws Exception {
        TestPostgres.execute("app", "DELETE FROM ps_batch");
        int clients = 4;
        int rows = 1500;
        try (Pgloom p = Pgloom.start("transaction", "default_pool_size = 2\n");
                ExecutorService pool = Executors.newFixedThreadPool(clients)) {
            List<Future<?>> done = new ArrayList<>();
            for (int k = 0; k < clients; k++) {
                int client = k;
                done.add(pool.submit(() -> {
                    Properties props = new Properties();
                    props.setProperty("prepareThreshold", "1");
                    try (Connection c = p.connect(props);
                            PreparedStatement ins = c.prepareStatement("INSERT INTO ps_batch VALUES (?, ?)")) {
                        for (int batch = 0; batch < 2; batch++) {
                            for (int i = 0; i < rows; i++) {
                                ins.setInt(1, client);
                                ins.setInt(2, batch * rows + i);
                                ins.addBatch();
                            }
                            int[] counts = ins.executeBatch();
                            assertEquals(rows, counts.length);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(120, TimeUnit.SECONDS);
            }
        }
        try (Connection d = TestPostgres.direct("app"); Statement s = d.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*), count(DISTINCT (client, n)) FROM ps_batch")) {
            rs.next();
            assertEquals(clients * 2 * rows, rs.getInt(1));
            assertEquals(clients * 2 * rows, rs.getInt(2));
        }
    }

    @Test
    void pgjdbcBatchFailingAfterASkippedParseLeavesTheConnectionUsable() throws Exception {
        TestPostgres.execute("app", "DELETE FROM ps_unique");
        String insert = "INSERT INTO ps_unique VALUES (?)";
        Properties props = new Properties();
        props.setProperty("prepareThreshold", "1");
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER);
                Connection a = p.connect(props);
                Connection b = p.connect(props)) {
            try (PreparedStatement ins = a.prepareStatement(insert)) {
                ins.setInt(1, 1);
                ins.executeUpdate(); // the one server now has this statement: b's Parse of it is answered by pgloom
            }
            try (PreparedStatement ins = b.prepareStatement(insert)) {
                for (int id : new int[] {10, 11, 1, 12}) {
                    ins.setInt(1, id);
                    ins.addBatch();
                }
                assertThrows(BatchUpdateException.class, ins::executeBatch, "duplicate key in the third row");
                ins.setInt(1, 20);
                assertEquals(1, ins.executeUpdate(), "the same statement works after the failed batch");
            }
            try (Statement s = b.createStatement();
                    ResultSet rs = s.executeQuery("SELECT array_agg(id ORDER BY id)::text FROM ps_unique")) {
                rs.next();
                assertEquals("{1,20}", rs.getString(1), "the failed batch rolled back as a whole");
            }
        }
    }

    @Test
    void pgjdbcClosedStatementIsPreparedAgain() throws Exception {
        Properties props = new Properties();
        props.setProperty("prepareThreshold", "1");
        try (Pgloom p = Pgloom.start("transaction", "default_pool_size = 2\n"); Connection c = p.connect(props)) {
            for (int round = 0; round < 5; round++) {
                try (PreparedStatement ps = c.prepareStatement("SELECT ?::int * 3")) {
                    for (int i = 0; i < 3; i++) {
                        ps.setInt(1, round + i);
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            assertEquals(3 * (round + i), rs.getInt(1));
                        }
                    }
                }
                // A closed pgjdbc statement is deallocated (Close) with the next request; the next
                // prepareStatement parses the same text under a new name.
                try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery("SELECT 1")) {
                    rs.next();
                }
            }
        }
    }

    @Test
    void leastRecentlyUsedStatementsAreClosedOnTheServer() throws Exception {
        Properties props = new Properties();
        props.setProperty("prepareThreshold", "1");
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER + "max_prepared_statements = 2\n");
                Connection c = p.connect(props)) {
            List<PreparedStatement> statements = new ArrayList<>();
            for (int k = 0; k < 5; k++) {
                statements.add(c.prepareStatement("SELECT ?::int + " + k));
            }
            for (int round = 0; round < 4; round++) {
                for (int k = 0; k < statements.size(); k++) {
                    PreparedStatement ps = statements.get(k);
                    ps.setInt(1, round);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        assertEquals(round + k, rs.getInt(1));
                    }
                }
            }
            try (Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'PGLOOM_%'")) {
                rs.next();
                int onServer = rs.getInt(1);
                assertTrue(onServer >= 1 && onServer <= 2, "at most max_prepared_statements on the server, got " + onServer);
            }
            for (PreparedStatement ps : statements) {
                ps.close();
            }
        }
    }

    @Test
    void reloadedBoundAppliesToTheNextEviction() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER + "max_prepared_statements = 4\n");
                RawClient a = login(p)) {
            for (int k = 0; k < 4; k++) {
                prepare(a, "S_" + k, "SELECT " + k);
            }
            assertEquals("4", pgloomStatementsOnServer(a));
            Files.writeString(p.ini, Files.readString(p.ini).replace("max_prepared_statements = 4", "max_prepared_statements = 2"));
            assertTrue(p.server.reload());
            request(a, "12DCZ", parse("S_4", "SELECT 4"), bind("S_4"), execute(), sync());
            assertEquals("2", pgloomStatementsOnServer(a));
            // an evicted statement is prepared again when used
            List<RawClient.Message> evicted = request(a, "2DCZ", bind("S_0"), execute(), sync());
            assertEquals("0", RawClient.firstValue(evicted));
        }
    }

    private static String pgloomStatementsOnServer(RawClient c) throws Exception {
        return RawClient.firstValue(c.simpleQuery("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'PGLOOM_%'"));
    }

    // ---------------------------------------------------------------- exact answers (raw protocol)

    @Test
    void parseTheServerAlreadyHasIsAnsweredInPlace() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER);
                RawClient a = login(p);
                RawClient b = login(p)) {
            prepare(a, "S_a", ADD_ONE);
            String before = RawClient.firstValue(a.simpleQuery(
                    "SELECT name || ' ' || prepare_time FROM pg_prepared_statements"));
            assertTrue(before.startsWith("PGLOOM_"), before);

            // ParseComplete first, where the Parse was.
            List<RawClient.Message> got = request(b, "12DCZ", parse("S_b", ADD_ONE), bind("S_b", "41"), execute(), sync());
            assertEquals("42", RawClient.firstValue(got));
            String after = RawClient.firstValue(b.simpleQuery(
                    "SELECT name || ' ' || prepare_time FROM pg_prepared_statements"));
            assertEquals(before, after, "the server's copy was used, not parsed again");
        }
    }

    @Test
    void aStatementNameLongerThanPostgresqlTakesInDescribeWorks() throws Exception {
        // PostgreSQL refuses a Describe or Close over 10000 bytes; the server sees the short PGLOOM_ name.
        String name = "a".repeat(16 * 1024);
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER);
                RawClient a = login(p)) {
            request(a, "1Z", parse(name, "SELECT $1::text"), sync());
            request(a, "tTZ", describeStatement(name), sync());
            assertEquals("abc", RawClient.firstValue(request(a, "2DCZ", bind(name, "abc"), execute(), sync())));
            request(a, "3Z", close(name), sync());
            List<RawClient.Message> gone = request(a, "EZ", describeStatement(name), sync());
            assertEquals("26000", ErrorResponse.decode(gone.getFirst().body(), 0, gone.getFirst().body().length).sqlState());
        }
    }

    @Test
    void closeIsAnsweredHereAndTheServerKeepsItsCopy() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER);
                RawClient a = login(p)) {
            prepare(a, "S_a", ADD_ONE);
            request(a, "3Z", close("S_a"), sync());
            assertEquals("1", RawClient.firstValue(a.simpleQuery(
                    "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'PGLOOM_%'")));

            List<RawClient.Message> failed = request(a, "EZ", bind("S_a", "1"), execute(), sync());
            ErrorResponse e = failed.getFirst().error();
            assertEquals("26000", e.sqlState());
            assertEquals("prepared statement \"S_a\" does not exist", e.message());

            // Prepared again under the closed name.
            List<RawClient.Message> again = request(a, "12DCZ", parse("S_a", ADD_ONE), bind("S_a", "1"), execute(), sync());
            assertEquals("2", RawClient.firstValue(again));
        }
    }

    @Test
    void parseOfANameTheClientHasFailsAsInPostgres() throws Exception {
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
                Pgloom p = Pgloom.start("transaction", ONE_SERVER);
                RawClient a = login(p)) {
            prepare(a, "S_a", ADD_ONE);
            // The rest of the request is skipped after the error.
            List<RawClient.Message> failed = request(a, "EZ", parse("S_a", "SELECT $1::int - 1"), bind("S_a", "5"), execute(), sync());
            assertEquals("42P05", failed.getFirst().error().sqlState());
            assertEquals("prepared statement \"S_a\" already exists", failed.getFirst().error().message());
            log.await("in PgBouncer's words", l -> l.contains("prepared statement 'S_a' was already prepared"));
            List<RawClient.Message> ok = request(a, "2DCZ", bind("S_a", "5"), execute(), sync());
            assertEquals("6", RawClient.firstValue(ok), "the name still means the first statement");
        }
    }

    @Test
    void errorAfterAnAnsweredParseComesAfterItsParseComplete() throws Exception {
        // random() keeps the planner from folding the division at Bind: it fails in Execute.
        String divide = "SELECT 10 / ($1::int + 0 * random()::int)";
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER);
                RawClient a = login(p);
                RawClient b = login(p)) {
            prepare(a, "S_a", divide);
            // Pipelined: Parse (answered by pgloom), a failing execution, then more that the server skips.
            List<RawClient.Message> got = request(b, "12EZ", parse("S_b", divide), bind("S_b", "0"), execute(),
                    parse("S_c", "SELECT 1"), close("S_b"), bind("S_b", "5"), execute(), sync());
            assertEquals("22012", got.get(2).error().sqlState());
            // S_c was skipped by the server, so it does not exist; the skipped Close left S_b in place.
            List<RawClient.Message> ok = request(b, "2DCZ", bind("S_b", "5"), execute(), sync());
            assertEquals("2", RawClient.firstValue(ok));
            // S_c can be prepared: the skipped Parse left nothing behind.
            List<RawClient.Message> c = request(b, "12DCZ", parse("S_c", "SELECT 3"), bind("S_c"), execute(), sync());
            assertEquals("3", RawClient.firstValue(c));
        }
    }

    @Test
    void answerAfterEarlierMessagesOfTheSameRequestWaitsForTheirAnswers() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER);
                RawClient a = login(p)) {
            request(a, "11Z", parse("S_a", ADD_ONE), parse("S_b", "SELECT 2"), sync());
            // One write: the Close answered by pgloom comes after Bind and Execute it did not touch.
            request(a, "2DC3Z", bind("S_a", "1"), execute(), close("S_a"), sync());
            // The request's first part left (and was answered) before pgloom saw anything to answer.
            a.send(RawClient.concat(bind("S_b"), execute(), flush()));
            assertEquals("2DC", types(a.readUntil('C')));
            List<RawClient.Message> tail = request(a, "3EZ", close("S_b"), bind("S_b"), execute(), sync());
            assertEquals("26000", tail.get(1).error().sqlState());
        }
    }

    @Test
    void bigParameterStreamsThroughARenamedBind() throws Exception {
        String big = "x".repeat(3 << 20);
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER);
                RawClient a = login(p)) {
            request(a, "1Z", parse("S_len", "SELECT length($1::text)"), sync());
            List<RawClient.Message> got = request(a, "2DCZ", bind("S_len", big), execute(), sync());
            assertEquals(String.valueOf(big.length()), RawClient.firstValue(got));
            // An unknown name is refused without passing the big Bind on.
            List<RawClient.Message> refused = request(a, "EZ", bind("S_none", big), execute(), sync());
            assertEquals("26000", refused.getFirst().error().sqlState());
        }
    }

    @Test
    void failedParseLeavesNoStatementBehind() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER);
                RawClient a = login(p)) {
            List<RawClient.Message> failed = request(a, "EZ", parse("S_x", "SELEC 1"), bind("S_x"), execute(), sync());
            assertEquals("42601", failed.getFirst().error().sqlState());
            List<RawClient.Message> ok = request(a, "12DCZ", parse("S_x", "SELECT 7"), bind("S_x"), execute(), sync());
            assertEquals("7", RawClient.firstValue(ok));
        }
    }

    @Test
    void flushPushesOutAnAnsweredParse() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER);
                RawClient a = login(p);
                RawClient b = login(p)) {
            prepare(a, "S_a", ADD_ONE);
            b.send(RawClient.concat(parse("S_b", ADD_ONE), flush()));
            assertEquals('1', b.read().type(), "ParseComplete after Flush, without a Sync");
            b.send(RawClient.concat(bind("S_b", "1"), describePortal(), execute(), flush()));
            assertEquals("2TDC", types(b.readUntil('C')));
            b.send(sync());
            assertEquals("Z", types(b.readUntil('Z')));
        }
    }

    @Test
    void statementFollowsItsClientToAnotherServer() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER);
                RawClient a = login(p);
                RawClient watcher = login(p)) {
            prepare(a, "S_a", ADD_ONE);
            String oldPid = RawClient.firstValue(a.simpleQuery("SELECT pg_backend_pid()"));
            try (Connection d = TestPostgres.direct("app"); Statement s = d.createStatement()) {
                s.execute("SELECT pg_terminate_backend(" + oldPid + ")");
            }
            waitForNewServer(watcher, oldPid);

            // The new server gets the Parse first; its ParseComplete is hidden.
            List<RawClient.Message> got = request(a, "tT2DCZ", describeStatement("S_a"), bind("S_a", "9"), execute(), sync());
            assertEquals("10", RawClient.firstValue(got));
        }
    }

    @Test
    void clientDeallocateMakesPgloomPrepareAgain() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER);
                RawClient a = login(p);
                RawClient b = login(p)) {
            prepare(a, "S_a", ADD_ONE);
            assertEquals('Z', b.simpleQuery("DEALLOCATE ALL").getLast().type());
            // a's statement survives b's DEALLOCATE ALL on the shared server.
            List<RawClient.Message> got = request(a, "2DCZ", bind("S_a", "2"), execute(), sync());
            assertEquals("3", RawClient.firstValue(got));
        }
    }

    @Test
    void resetQueryDiscardAllEmptiesTheServersCache() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER + "server_reset_query_always = 1\n")) {
            try (RawClient a = login(p)) {
                prepare(a, "S_a", ADD_ONE);
                a.terminate(); // pgloom runs DISCARD ALL on the server before it serves anyone else
            }
            try (RawClient b = login(p)) {
                List<RawClient.Message> got = request(b, "12DCZ", parse("S_b", ADD_ONE), bind("S_b", "4"), execute(), sync());
                assertEquals("5", RawClient.firstValue(got));
            }
        }
    }

    @Test
    void zeroMaxPreparedStatementsPassesNamesThrough() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ONE_SERVER + "max_prepared_statements = 0\n");
                RawClient a = login(p)) {
            assertEquals("S_raw", namesOnServerAfterParse(a));
        }
    }

    @Test
    void sessionModePassesNamesThrough() throws Exception {
        try (Pgloom p = Pgloom.start("session", "");
                RawClient a = login(p)) {
            assertEquals("S_raw", namesOnServerAfterParse(a));
        }
    }

    // ---------------------------------------------------------------- helpers

    private static RawClient login(Pgloom p) throws Exception {
        return new RawClient(p.port()).login("alice", "alice-secret", "app");
    }

    /** Sends messages ending with Sync; the answers up to ReadyForQuery must have {@code expectedTypes}. */
    private static List<RawClient.Message> request(RawClient c, String expectedTypes, byte[]... messages) throws Exception {
        c.send(RawClient.concat(messages));
        List<RawClient.Message> got = c.readUntil('Z');
        assertEquals(expectedTypes, types(got));
        return got;
    }

    /** Parse and Sync; the Parse must succeed. */
    private static void prepare(RawClient c, String name, String sql) throws Exception {
        request(c, "1Z", parse(name, sql), sync());
    }

    private static String namesOnServerAfterParse(RawClient a) throws Exception {
        request(a, "12DCZ", parse("S_raw", ADD_ONE), bind("S_raw", "1"), execute(), sync());
        String names = RawClient.firstValue(a.simpleQuery("SELECT string_agg(name, ',') FROM pg_prepared_statements"));
        a.simpleQuery("DEALLOCATE ALL");
        return names;
    }

    /** Polls until the pool serves a backend other than {@code oldPid} (the old one was terminated). */
    private static void waitForNewServer(RawClient watcher, String oldPid) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            List<RawClient.Message> got = watcher.simpleQuery("SELECT pg_backend_pid()");
            String pid = RawClient.firstValue(got);
            if (pid != null && !pid.equals(oldPid)) {
                return;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the pool never replaced the terminated server");
    }

    static String types(List<RawClient.Message> messages) {
        StringBuilder b = new StringBuilder();
        for (RawClient.Message m : messages) {
            if (m.type() != 'N' && m.type() != 'S') {
                b.append(m.type());
            }
        }
        return b.toString();
    }

    static byte[] parse(String name, String sql) {
        return new MessageBuilder('P').cstring(name).cstring(sql).int16(0).build();
    }

    /** Bind of {@code statement} into the unnamed portal, parameters as text. */
    static byte[] bind(String statement, String... params) {
        MessageBuilder m = new MessageBuilder('B').cstring("").cstring(statement).int16(0).int16(params.length);
        for (String v : params) {
            byte[] b = v.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            m.int32(b.length).bytes(b);
        }
        return m.int16(0).build();
    }

    static byte[] execute() {
        return new MessageBuilder('E').cstring("").int32(0).build();
    }

    static byte[] sync() {
        return new MessageBuilder('S').build();
    }

    static byte[] flush() {
        return new MessageBuilder('H').build();
    }

    static byte[] close(String statement) {
        return new MessageBuilder('C').byte1('S').cstring(statement).build();
    }

    static byte[] describeStatement(String statement) {
        return new MessageBuilder('D').byte1('S').cstring(statement).build();
    }

    static byte[] describePortal() {
        return new MessageBuilder('D').byte1('P').cstring("").build();
    }
}
