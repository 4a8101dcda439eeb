package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.server.control.InjectionPoints;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.MessageBuilder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Bad input gets a clear error and costs nothing else: each offending connection is told why and
 * closed, while a bystander client keeps working on the same pooler throughout.
 */
class BadInputTest {
    private static Pgloom pgloom;
    private static Connection bystander;

    @BeforeAll
    static void start() throws Exception {
        pgloom = Pgloom.start("transaction", "client_login_timeout = 1\nmax_packet_size = 100000\nadmin_users = postgres\n");
        bystander = pgloom.connect();
    }

    @AfterAll
    static void stop() throws Exception {
        bystander.close();
        pgloom.close();
    }

    /** The bystander still works, and so does a brand-new client. */
    private static void othersUnaffected() throws Exception {
        try (Statement s = bystander.createStatement(); ResultSet rs = s.executeQuery("SELECT 'still here'")) {
            rs.next();
            assertEquals("still here", rs.getString(1));
        }
        try (RawClient fresh = new RawClient(pgloom.port()).login("alice", "alice-secret", "app")) {
            assertEquals("1", RawClient.firstValue(fresh.simpleQuery("SELECT 1")));
        }
    }

    private static ErrorResponse sendAndExpectFatal(byte[] bytes, String sqlState, String messagePart) throws Exception {
        try (RawClient c = new RawClient(pgloom.port())) {
            c.send(bytes);
            ErrorResponse e = c.readError();
            assertEquals("FATAL", e.severity(), e.toString());
            assertEquals(sqlState, e.sqlState(), e.toString());
            assertTrue(e.message().contains(messagePart), e.toString());
            assertTrue(c.closedByPeer(), "the offending connection is closed");
            othersUnaffected();
            return e;
        }
    }

    @Test
    void garbageInsteadOfAStartupPacket() throws Exception {
        sendAndExpectFatal("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII), "08P01", "startup packet");
    }

    @Test
    void startupLengthZeroNegativeOrHuge() throws Exception {
        sendAndExpectFatal(new byte[] {0, 0, 0, 0, 0, 3, 0, 0}, "08P01", "invalid length of startup packet");
        sendAndExpectFatal(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xf0, 0, 3, 0, 0}, "08P01", "invalid length");
        sendAndExpectFatal(new byte[] {0, 1, 0, 0, 0, 3, 0, 0}, "08P01", "invalid length of startup packet");
    }

    @Test
    void smallestWellFormedStartupIsAccepted() throws Exception {
        try (RawClient c = new RawClient(pgloom.port())) {
            c.login("alice", "alice-secret", "app");
            assertEquals("ok", RawClient.firstValue(c.simpleQuery("SELECT 'ok'")));
        }
    }

    @Test
    void unsupportedProtocolVersion() throws Exception {
        byte[] v2 = {0, 0, 0, 8, 0, 2, 0, 0};
        sendAndExpectFatal(v2, "0A000", "unsupported frontend protocol");
    }

    @Test
    void unknownMessageTypeAfterLogin() throws Exception {
        try (RawClient c = new RawClient(pgloom.port()).login("alice", "alice-secret", "app")) {
            c.send(new byte[] {'!', 0, 0, 0, 4});
            ErrorResponse e = c.readError();
            assertEquals("08P01", e.sqlState());
            assertTrue(e.message().contains("unsupported pkt type"), e.toString());
            assertTrue(c.closedByPeer());
        }
        othersUnaffected();
    }

    @Test
    void messageLengthBeyondMaxPacketSizeOrBelowFour() throws Exception {
        for (byte[] bad : new byte[][] {{'Q', 0, 0x10, 0, 0}, {'Q', 0, 0, 0, 3}, {'Q', (byte) 0x80, 0, 0, 0}}) {
            try (RawClient c = new RawClient(pgloom.port()).login("alice", "alice-secret", "app")) {
                c.send(bad);
                ErrorResponse e = c.readError();
                assertEquals("08P01", e.sqlState());
                assertTrue(e.message().contains("invalid message length"), e.toString());
                assertTrue(c.closedByPeer());
            }
        }
        othersUnaffected();
    }

    @Test
    void messageCutOffMidway() throws Exception {
        try (RawClient c = new RawClient(pgloom.port()).login("alice", "alice-secret", "app")) {
            byte[] q = RawClient.query("SELECT 'never finished'");
            c.send(java.util.Arrays.copyOf(q, 10));
            c.socket.shutdownOutput();
            ErrorResponse e = c.readError();
            assertEquals("08P01", e.sqlState());
            assertTrue(e.message().contains("unexpected end of stream"), e.toString());
            assertTrue(c.closedByPeer());
        }
        othersUnaffected();
    }

    @Test
    void clientThatSaysNothingIsClosedAfterClientLoginTimeout() throws Exception {
        try (RawClient c = new RawClient(pgloom.port())) {
            ErrorResponse e = c.readError();
            assertEquals("client_login_timeout", e.message());
            assertEquals("08P01", e.sqlState());
            assertTrue(c.closedByPeer());
        }
        othersUnaffected();
    }

    @Test
    void sslAndGssEncRequestsAreAnsweredNo() throws Exception {
        try (RawClient c = new RawClient(pgloom.port())) {
            c.send(new byte[] {0, 0, 0, 8, 0x04, (byte) 0xd2, 0x16, 0x2f});
            assertEquals('N', c.socket.getInputStream().read());
            c.send(new byte[] {0, 0, 0, 8, 0x04, (byte) 0xd2, 0x16, 0x30});
            assertEquals('N', c.socket.getInputStream().read());
            c.login("alice", "alice-secret", "app");
            assertEquals("1", RawClient.firstValue(c.simpleQuery("SELECT 1")));
        }
    }

    @Test
    void unsupportedStartupParameterIsRefusedByName() throws Exception {
        sendAndExpectFatal(RawClient.startupPacket(java.util.Map.of("user", "alice", "database", "app", "search_path", "x")),
                "08P01", "unsupported startup parameter: search_path");
    }

    private static RawClient console() throws Exception {
        return new RawClient(pgloom.port()).login("postgres", "postgres", "pgbouncer");
    }

    /** A Bind of the unnamed portal and statement, up to its two names: a test adds the rest. */
    private static MessageBuilder bind() {
        return new MessageBuilder('B').cstring("").cstring("");
    }

    /** Parse, {@code bind}, Execute and Sync of one console command. */
    private static byte[] consoleRequest(String command, MessageBuilder bind) {
        return RawClient.concat(
                new MessageBuilder('P').cstring("").cstring(command).int16(0).build(),
                bind.build(),
                new MessageBuilder('E').cstring("").int32(0).build(),
                new MessageBuilder('S').build());
    }

    private static List<RawClient.Message> ofType(List<RawClient.Message> messages, char type) {
        return messages.stream().filter(m -> m.type() == type).toList();
    }

    @Test
    void consoleBindWhoseParameterOutrunsTheMessageIsAProtocolError() throws Exception {
        // No parameter formats, and one parameter claiming 100 bytes but carrying 2.
        MessageBuilder cutShort = bind().int16(0).int16(1).int32(100).bytes(new byte[] {'4', '2'});
        try (RawClient c = console()) {
            c.send(consoleRequest("SHOW VERSION", cutShort));
            ErrorResponse e = c.readError();
            assertEquals("FATAL", e.severity(), e.toString());
            assertEquals("08P01", e.sqlState(), e.toString());
            assertTrue(e.message().startsWith("malformed message 'B' on the admin console"), e.toString());
            assertTrue(c.closedByPeer(), "the offending console client is closed");
        }
        othersUnaffected();
    }

    @Test
    void consoleAcceptsTheSmallestWellFormedBind() throws Exception {
        // No parameter formats, no parameters, no result formats.
        MessageBuilder smallest = bind().int16(0).int16(0).int16(0);
        try (RawClient c = console()) {
            c.send(consoleRequest("SHOW VERSION", smallest));
            List<RawClient.Message> reply = c.readUntil('Z');
            assertEquals(List.of(), ofType(reply, 'E'), "no error");
            assertEquals(1, ofType(reply, '2').size(), "BindComplete");
            assertEquals(1, ofType(reply, 'D').size(), "the version row");
            assertTrue(RawClient.firstValue(c.simpleQuery("SHOW VERSION")) != null, "the session goes on");
        }
    }

    @Test
    void consoleBindWithFewerResultFormatsThanColumnsIsAnErrorNotACrash() throws Exception {
        // Two result format codes for SHOW POOLS's many columns: PostgreSQL's ERROR, request skipped.
        MessageBuilder twoCodes = bind().int16(0).int16(0).int16(2).int16(0).int16(0);
        try (RawClient c = console()) {
            c.send(consoleRequest("SHOW POOLS", twoCodes));
            List<RawClient.Message> reply = c.readUntil('Z');
            ErrorResponse e = ofType(reply, 'E').getFirst().error();
            assertEquals("ERROR", e.severity(), e.toString());
            assertEquals("08P01", e.sqlState(), e.toString());
            assertTrue(e.message().startsWith("bind message has 2 result formats but query has "), e.toString());
            assertEquals(List.of(), ofType(reply, 'D'), "the skipped Execute sends no rows");
            // One code for every column is well-formed: the same client goes on.
            MessageBuilder oneCode = bind().int16(0).int16(0).int16(1).int16(0);
            c.send(consoleRequest("SHOW POOLS", oneCode));
            List<RawClient.Message> next = c.readUntil('Z');
            assertEquals(List.of(), ofType(next, 'E'), "no error");
            assertEquals(1, ofType(next, 'C').size(), "CommandComplete");
        }
    }

    @Test
    void serverThatDiesMidQuery() throws Exception {
        try (RawClient victim = new RawClient(pgloom.port()).login("alice", "alice-secret", "app")) {
            String serverPid = RawClient.firstValue(victim.simpleQuery("SELECT pg_backend_pid()"));
            victim.send(RawClient.query("SELECT pg_sleep(30)"));
            Thread.sleep(300);
            // The backend dies mid-query (as on a crash or an admin's kill).
            CompletableFuture<Void> kill = CompletableFuture.runAsync(() -> {
                try (Connection d = TestPostgres.direct("app"); Statement s = d.createStatement()) {
                    s.execute("SELECT pg_terminate_backend(" + serverPid + ")");
                } catch (SQLException e) {
                    throw new RuntimeException(e);
                }
            });
            kill.get(20, TimeUnit.SECONDS);
            ErrorResponse e = victim.readError();
            assertTrue(e.sqlState().startsWith("08") || e.sqlState().equals("57P01"), e.toString());
        }
        // Next transaction from a client works, on a fresh server.
        othersUnaffected();
    }

    @Test
    void aBugInOneClientsSessionEndsThatClientOnlyAndItsServerIsNotLost() throws Exception {
        InjectionPoints points = pgloom.server.pooler().injectionPoints();
        try (RawClient victim = new RawClient(pgloom.port()).login("alice", "alice-secret", "app")) {
            points.arm(InjectionPoints.CLIENT_SERVER_LINKED);
            try {
                victim.send(RawClient.query("SELECT 1"));
                ErrorResponse e = victim.readError();
                assertEquals("FATAL", e.severity(), e.toString());
                assertEquals("XX000", e.sqlState(), e.toString());
                assertTrue(e.message().startsWith("pgloom internal error: "), e.toString());
                assertTrue(victim.closedByPeer(), "the client is closed");
            } finally {
                points.disarm(InjectionPoints.CLIENT_SERVER_LINKED);
            }
        }
        othersUnaffected();
        // The server it held was closed (it was not idle), and the client is gone: only the bystander (alice) is left.
        Map<String, String> alice = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        try (RawClient admin = new RawClient(pgloom.port()).login("postgres", "postgres", "pgbouncer")) {
            do {
                for (Map<String, String> pool : ConsoleResult.query(admin, "SHOW POOLS").rows()) {
                    if (pool.get("database").equals("app") && pool.get("user").equals("alice")) {
                        alice = pool;
                    }
                }
            } while (!(alice != null && alice.get("sv_active").equals("0") && alice.get("cl_active").equals("1"))
                    && System.nanoTime() < deadline && sleep(50));
        }
        assertTrue(alice != null && alice.get("sv_active").equals("0") && alice.get("cl_active").equals("1"), String.valueOf(alice));
    }

    private static boolean sleep(long millis) throws InterruptedException {
        Thread.sleep(millis);
        return true;
    }
}
