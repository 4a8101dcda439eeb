package io.pgloom.wire.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.config.ScramSecret;
import io.pgloom.wire.auth.Md5Password;
import io.pgloom.wire.auth.ScramSecrets;
import io.pgloom.wire.auth.ScramServerExchange;
import io.pgloom.wire.protocol.AuthCode;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.MessageBuilder;
import io.pgloom.wire.protocol.MessageReader;
import io.pgloom.wire.protocol.PgloomError;
import io.pgloom.wire.protocol.SqlState;
import io.pgloom.wire.protocol.StartupRequest;
import io.pgloom.wire.tcp.TcpTuning;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The connector against a scripted fake server: logins, login failures, cancels, probes. */
class BackendConnectorTest {
    private static final BackendConnector CONNECTOR = new BackendConnector(new BackendOptions(5000, TcpTuning.DEFAULT));
    private static final ServerCredentials ALICE = new ServerCredentials("alice", "secret", null, null, null);
    private static final byte[] SALT = {1, 2, 3, 4};

    private static MessageBuilder auth(AuthCode code) {
        return new MessageBuilder('R').int32(code.code());
    }

    /** What a server sends after accepting the password: parameters, key data, ReadyForQuery. */
    private static void welcome(ScriptedServer.Peer peer) throws IOException {
        peer.send(auth(AuthCode.OK),
                new MessageBuilder('S').cstring("server_version").cstring("17.2"),
                new MessageBuilder('S').cstring("TimeZone").cstring("UTC"),
                new MessageBuilder('N').byte1('M').cstring("just so you know").byte1(0),
                new MessageBuilder('K').int32(4242).int32(-7),
                new MessageBuilder('Z').byte1('I'));
    }

    /** The startup packet's parameters, checked to be protocol 3.0. */
    private static Map<String, String> startupParameters(byte[] body) throws IOException {
        MessageReader r = new MessageReader(body);
        assertEquals(StartupRequest.PROTOCOL_3, r.int32());
        Map<String, String> params = new LinkedHashMap<>();
        while (r.peek() != 0) {
            params.put(r.cstring(), r.cstring());
        }
        return params;
    }

    private static BackendConnection login(ScriptedServer server, ServerCredentials credentials) throws Exception {
        return CONNECTOR.login(server.endpoint(), "app", Map.of("application_name", "psql"), credentials);
    }

    @Test
    void logsInWithACleartextPasswordAndCollectsWhatTheServerReports() throws Exception {
        try (ScriptedServer server = new ScriptedServer(peer -> {
            Map<String, String> startup = startupParameters(peer.readStartup());
            peer.send(auth(AuthCode.CLEARTEXT_PASSWORD));
            String password = new MessageReader(peer.read('p')).cstring();
            welcome(peer);
            return startup + " " + password;
        })) {
            BackendConnection c = login(server, ALICE);
            try {
                assertEquals("{user=alice, database=app, application_name=psql} secret", server.finish());
                assertEquals(Map.of("server_version", "17.2", "TimeZone", "UTC"), c.parameters());
                assertEquals(4242, c.processId());
                assertEquals(-7, c.secretKey());
                assertEquals('I', c.transactionStatus());
                assertEquals(server.endpoint(), c.endpoint());
                assertTrue(c.conduit().socket().getTcpNoDelay());
                assertEquals(0, c.conduit().socket().getSoTimeout(), "the login's read timeout is lifted for the relay");
            } finally {
                c.conduit().close();
            }
        }
    }

    @Test
    void answersMd5FromAPasswordOrAStoredHash() throws Exception {
        String expected = Md5Password.response(Md5Password.hash("alice", "secret"), SALT);
        for (ServerCredentials credentials : new ServerCredentials[] {ALICE,
                new ServerCredentials("alice", null, Md5Password.hash("alice", "secret"), null, null)}) {
            try (ScriptedServer server = new ScriptedServer(peer -> {
                peer.readStartup();
                peer.send(auth(AuthCode.MD5_PASSWORD).bytes(SALT));
                String answer = new MessageReader(peer.read('p')).cstring();
                welcome(peer);
                return answer;
            })) {
                login(server, credentials).conduit().close();
                assertEquals(expected, server.finish());
            }
        }
    }

    @Test
    void logsInWithScramFromAPasswordAndFromRecoveredKeys() throws Exception {
        ScramSecret secret = ScramSecrets.fromPassword("secret", 4096);
        ScramServerExchange[] lastExchange = new ScramServerExchange[1];
        ScriptedServer.Script scram = peer -> {
            peer.readStartup();
            ScramServerExchange exchange = new ScramServerExchange("alice", secret);
            lastExchange[0] = exchange;
            peer.send(auth(AuthCode.SASL).cstring("SCRAM-SHA-256").byte1(0));
            MessageReader initial = new MessageReader(peer.read('p'));
            String mechanism = initial.cstring();
            byte[] serverFirst = exchange.clientFirst(mechanism, initial.bytes(initial.int32()));
            peer.send(auth(AuthCode.SASL_CONTINUE).bytes(serverFirst));
            byte[] serverFinal = exchange.clientFinal(peer.read('p'));
            peer.send(auth(AuthCode.SASL_FINAL).bytes(serverFinal));
            welcome(peer);
            return mechanism;
        };
        byte[] clientKey;
        try (ScriptedServer server = new ScriptedServer(scram)) {
            login(server, ALICE).conduit().close();
            assertEquals("SCRAM-SHA-256", server.finish());
            clientKey = lastExchange[0].clientKey();
        }
        ServerCredentials keysOnly = ServerCredentials.none("alice").withScramKeys(clientKey, secret.serverKey());
        try (ScriptedServer server = new ScriptedServer(scram)) {
            login(server, keysOnly).conduit().close();
            assertEquals("SCRAM-SHA-256", server.finish());
        }
    }

    @Test
    void passesTheServersOwnLoginErrorOnUnchangedAndClosesTheSocket() throws Exception {
        try (ScriptedServer server = new ScriptedServer(peer -> {
            peer.readStartup();
            peer.send(new ErrorResponse("FATAL", "3D000", "database \"app\" does not exist", null).encode());
            return peer.clientClosed();
        })) {
            PgloomError e = assertThrows(PgloomError.class, () -> login(server, ALICE));
            assertEquals(new ErrorResponse("FATAL", "3D000", "database \"app\" does not exist", null), e.response());
            assertEquals(true, server.finish(), "the connector closed its socket");
        }
    }

    @Test
    void refusesWhenItHasNoSecretTheMethodCanUse() throws Exception {
        try (ScriptedServer server = new ScriptedServer(peer -> {
            peer.readStartup();
            peer.send(auth(AuthCode.CLEARTEXT_PASSWORD));
            return peer.clientClosed();
        })) {
            PgloomError e = assertThrows(PgloomError.class, () -> login(server, ServerCredentials.none("bob")));
            assertEquals(SqlState.INVALID_PASSWORD, e.response().sqlState());
            assertEquals("wrong password type: pgloom has no password for user \"bob\" that password authentication to the server can use"
                    + " (set password= in [databases] or a plain/md5 secret in auth_file)", e.getMessage());
            assertEquals(true, server.finish());
        }
    }

    @Test
    void refusesAnAuthenticationMethodItDoesNotSpeak() throws Exception {
        try (ScriptedServer server = new ScriptedServer(peer -> {
            peer.readStartup();
            peer.send(new MessageBuilder('R').int32(7)); // GSS
            return null;
        })) {
            PgloomError e = assertThrows(PgloomError.class, () -> login(server, ALICE));
            assertEquals(SqlState.FEATURE_NOT_SUPPORTED, e.response().sqlState());
            assertEquals("server asked for an authentication method pgloom does not support (code 7)", e.getMessage());
            server.finish();
        }
    }

    @Test
    void aScramFailureIsAnInvalidPassword() throws Exception {
        try (ScriptedServer server = new ScriptedServer(peer -> {
            peer.readStartup();
            peer.send(auth(AuthCode.SASL).cstring("SCRAM-SHA-256").byte1(0));
            peer.read('p');
            peer.send(auth(AuthCode.SASL_CONTINUE).bytes("r=not-our-nonce,s=AAAA,i=4096".getBytes()));
            return null;
        })) {
            PgloomError e = assertThrows(PgloomError.class, () -> login(server, ALICE));
            assertEquals(SqlState.INVALID_PASSWORD, e.response().sqlState());
            assertTrue(e.getMessage().startsWith("pgloom could not log into the server as \"alice\": "), e.getMessage());
            server.finish();
        }
    }

    /** The three attacks on a pooler's SCRAM client and login that PgBouncer 1.25.1 and 1.25.2 fixed. */
    @Test
    void anErrorResponseWithoutSqlstateDuringLoginEndsItWithAProtocolViolation() throws Exception {
        try (ScriptedServer server = new ScriptedServer(peer -> {
            peer.readStartup();
            peer.send(new MessageBuilder('E').byte1('S').cstring("FATAL").byte1('M').cstring("no code here").byte1(0));
            return peer.clientClosed();
        })) {
            PgloomError e = assertThrows(PgloomError.class, () -> login(server, ALICE));
            assertEquals(SqlState.PROTOCOL_VIOLATION, e.response().sqlState());
            assertEquals("no code here", e.response().message());
            assertEquals(true, server.finish(), "the connector closed its socket");
        }
    }

    @Test
    void anOversizedServerNonceIsRefusedAndSoIsAnOversizedMessage() throws Exception {
        // A server-first-message whose nonce extends ours by 5,000 characters (PostgreSQL's whole
        // nonce is 48), then one of 100 kB: the exchange refuses both before answering.
        for (int extra : new int[] {5_000, 100_000}) {
            try (ScriptedServer server = new ScriptedServer(peer -> {
                peer.readStartup();
                peer.send(auth(AuthCode.SASL).cstring("SCRAM-SHA-256").byte1(0));
                MessageReader initial = new MessageReader(peer.read('p'));
                initial.cstring();
                String clientFirst = new String(initial.bytes(initial.int32()), java.nio.charset.StandardCharsets.US_ASCII);
                String nonce = clientFirst.substring(clientFirst.indexOf("r=") + 2);
                peer.send(auth(AuthCode.SASL_CONTINUE).bytes(("r=" + nonce + "x".repeat(extra) + ",s=AAAA,i=4096").getBytes()));
                return peer.clientClosed();
            })) {
                PgloomError e = assertThrows(PgloomError.class, () -> login(server, ALICE));
                assertEquals(SqlState.INVALID_PASSWORD, e.response().sqlState());
                assertTrue(e.getMessage().contains(extra == 5_000 ? "nonce of 5024 characters, over 1024" : "longer than 65535 bytes"),
                        e.getMessage());
                assertEquals(true, server.finish());
            }
        }
        // A login message over 1 MiB: refused by its length, before it is read.
        try (ScriptedServer server = new ScriptedServer(peer -> {
            peer.readStartup();
            try {
                peer.send(auth(AuthCode.SASL_CONTINUE).bytes(new byte[2 << 20]));
            } catch (IOException e) {
                return true; // the connector hung up after the length, before the rest was written
            }
            return peer.clientClosed();
        })) {
            IOException e = assertThrows(IOException.class, () -> login(server, ALICE));
            assertTrue(e.getMessage().startsWith("invalid message length"), e.getMessage());
            assertEquals(true, server.finish());
        }
    }

    @Test
    void aForgedServerFinalMessageIsRefused() throws Exception {
        ScramSecret secret = ScramSecrets.fromPassword("secret", 4096);
        for (String forged : new String[] {"v=" + "A".repeat(100_000), "v=AAAA", "e=other-error", "garbage"}) {
            try (ScriptedServer server = new ScriptedServer(peer -> {
                peer.readStartup();
                ScramServerExchange exchange = new ScramServerExchange("alice", secret);
                peer.send(auth(AuthCode.SASL).cstring("SCRAM-SHA-256").byte1(0));
                MessageReader initial = new MessageReader(peer.read('p'));
                String mechanism = initial.cstring();
                peer.send(auth(AuthCode.SASL_CONTINUE).bytes(exchange.clientFirst(mechanism, initial.bytes(initial.int32()))));
                peer.read('p');
                peer.send(auth(AuthCode.SASL_FINAL).bytes(forged.getBytes()));
                return peer.clientClosed();
            })) {
                PgloomError e = assertThrows(PgloomError.class, () -> login(server, ALICE), forged);
                assertEquals(SqlState.INVALID_PASSWORD, e.response().sqlState(), forged);
                assertEquals(true, server.finish());
            }
        }
    }

    @Test
    void rejectsAMalformedAuthenticationRequest() throws Exception {
        try (ScriptedServer server = new ScriptedServer(peer -> {
            peer.readStartup();
            peer.send(new MessageBuilder('R').int16(0));
            return null;
        })) {
            IOException e = assertThrows(IOException.class, () -> login(server, ALICE));
            assertEquals("malformed authentication request from server", e.getMessage());
            server.finish();
        }
        try (ScriptedServer server = new ScriptedServer(peer -> {
            peer.readStartup();
            peer.send(auth(AuthCode.MD5_PASSWORD).int16(0));
            return null;
        })) {
            IOException e = assertThrows(IOException.class, () -> login(server, ALICE));
            assertEquals("malformed md5 request from server", e.getMessage());
            server.finish();
        }
    }

    @Test
    void aServerThatNeverAnswersTimesOutWithinTheConnectTimeout() throws Exception {
        BackendConnector quick = new BackendConnector(new BackendOptions(200, TcpTuning.DEFAULT));
        try (ScriptedServer server = new ScriptedServer(peer -> {
            peer.readStartup();
            return peer.clientClosed();
        })) {
            long start = System.nanoTime();
            assertThrows(SocketTimeoutException.class, () -> quick.login(server.endpoint(), "app", Map.of(), ALICE));
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos());
            assertEquals(true, server.finish());
        }
    }

    @Test
    void cancelSendsTheKeyAndReturnsWhenTheServerCloses() throws Exception {
        try (ScriptedServer server = new ScriptedServer(peer -> {
            byte[] body = peer.readStartup();
            return Arrays.toString(new int[] {new MessageReader(body).int32(), new MessageReader(body, 4, 8).int32(),
                    new MessageReader(body, 8, 12).int32(), body.length});
        })) {
            CONNECTOR.cancel(server.endpoint(), 4242, -7, Duration.ofSeconds(5));
            assertEquals(Arrays.toString(new int[] {StartupRequest.CANCEL_REQUEST, 4242, -7, 12}), server.finish());
        }
    }

    @Test
    void cancelGivesUpAtItsLimit() throws Exception {
        try (ScriptedServer server = new ScriptedServer(peer -> {
            peer.readStartup();
            return peer.clientClosed(); // never closes first: the client must give up
        })) {
            assertThrows(SocketTimeoutException.class, () -> CONNECTOR.cancel(server.endpoint(), 1, 2, Duration.ofMillis(200)));
            assertEquals(true, server.finish());
        }
    }

    @Test
    void probeSucceedsOnAListeningPortAndFailsOnAClosedOne() throws Exception {
        try (ServerSocket listening = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            CONNECTOR.probe(new Endpoint("127.0.0.1", listening.getLocalPort()), 1000);
        }
        int closedPort;
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        assertThrows(IOException.class, () -> CONNECTOR.probe(new Endpoint("127.0.0.1", closedPort), 1000));
    }

    @Test
    void anEndpointPrintsAsHostColonPort() {
        assertEquals("db1:5432", new Endpoint("db1", 5432).toString());
    }
}
