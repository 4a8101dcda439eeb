package io.pgloom.server.frontend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.server.net.ConnectionInfo;
import io.pgloom.server.net.Transport;
import io.pgloom.wire.protocol.Backend;
import io.pgloom.wire.protocol.MessageBuilder;
import io.pgloom.wire.protocol.ProtocolException;
import io.pgloom.wire.protocol.SqlState;
import io.pgloom.wire.protocol.StartupRequest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Negotiation over byte scripts: what a client sends before its session, and what it is answered. */
class NegotiationTest {
    private final List<int[]> cancels = new ArrayList<>();

    private static byte[] sslRequest() {
        return new MessageBuilder().int32(StartupRequest.SSL_REQUEST).build();
    }

    private static byte[] gssEncRequest() {
        return new MessageBuilder().int32(StartupRequest.GSSENC_REQUEST).build();
    }

    private static byte[] startup(int minor, String user) {
        return new MessageBuilder().int32(StartupRequest.PROTOCOL_3 | minor)
                .cstring("user").cstring(user).cstring("database").cstring("app").byte1(0).build();
    }

    private static byte[] script(byte[]... parts) {
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            all.writeBytes(p);
        }
        return all.toByteArray();
    }

    private Negotiation negotiation(ScriptedTransport client, Transport.Upgrade tls) throws IOException {
        return new Negotiation(ClientSession.newReader(client.input()), new ClientOutput(client), tls, false);
    }

    private StartupRequest.Startup run(Negotiation n) throws IOException {
        return n.run((pid, secret) -> cancels.add(new int[] {pid, secret}));
    }

    @Test
    void aStartupMessageAloneIsReturnedAndNothingIsAnswered() throws IOException {
        ScriptedTransport client = new ScriptedTransport(startup(0, "alice"));
        Negotiation n = negotiation(client, null);
        StartupRequest.Startup s = run(n);
        assertEquals("alice", s.user());
        assertEquals("app", s.database());
        n.answerProtocolVersion(s);
        assertEquals(0, client.written.size(), "a 3.0 client needs no NegotiateProtocolVersion");
    }

    @Test
    void anSslRequestIsRefusedWithNThenTheStartupMessageIsRead() throws IOException {
        ScriptedTransport client = new ScriptedTransport(sslRequest(), startup(0, "alice"));
        StartupRequest.Startup s = run(negotiation(client, null));
        assertEquals("alice", s.user());
        assertArrayEquals(new byte[] {'N'}, client.written.toByteArray());
    }

    @Test
    void aGssEncRequestIsRefusedWithN() throws IOException {
        ScriptedTransport client = new ScriptedTransport(gssEncRequest(), sslRequest(), startup(0, "bob"));
        StartupRequest.Startup s = run(negotiation(client, null));
        assertEquals("bob", s.user());
        assertArrayEquals(new byte[] {'N', 'N'}, client.written.toByteArray());
    }

    @Test
    void aCancelRequestIsHandedOnAndEndsTheConnection() throws IOException {
        ScriptedTransport client = new ScriptedTransport(
                new MessageBuilder().int32(StartupRequest.CANCEL_REQUEST).int32(42).int32(7).build());
        Negotiation n = negotiation(client, null);
        assertNull(run(n));
        assertEquals("cancel request handled", n.endReason());
        assertEquals(1, cancels.size());
        assertArrayEquals(new int[] {42, 7}, cancels.getFirst());
        assertEquals(0, client.written.size());
    }

    @Test
    void aClientThatHangsUpEndsTheNegotiationWithItsReason() throws IOException {
        Negotiation silent = negotiation(new ScriptedTransport(), null);
        assertNull(run(silent));
        assertEquals("client closed the connection before its startup packet", silent.endReason());

        Negotiation afterTls = negotiation(new ScriptedTransport(sslRequest()), null);
        assertNull(run(afterTls));
        assertEquals("client closed the connection after pgloom refused TLS (client_tls_sslmode = disable, or the Unix socket)", afterTls.endReason());

        Negotiation midPacket = negotiation(new ScriptedTransport(new byte[] {0, 0, 0, 40, 0, 3}), null);
        assertNull(run(midPacket));
        assertEquals("client closed the connection before its startup packet", midPacket.endReason());
        assertTrue(cancels.isEmpty());
    }

    @Test
    void aGarbageLengthIsAProtocolViolationBeforeAnythingIsAllocated() throws IOException {
        for (int len : new int[] {0, 7, StartupRequest.MAX_LENGTH + 1, Integer.MAX_VALUE, -1}) {
            ScriptedTransport client = new ScriptedTransport(new MessageBuilder().int32(len).int32(0).build());
            // The script's own length prefix is replaced: the first four bytes are the claimed length.
            client.script[0] = (byte) (len >>> 24);
            client.script[1] = (byte) (len >>> 16);
            client.script[2] = (byte) (len >>> 8);
            client.script[3] = (byte) len;
            ProtocolException e = assertThrows(ProtocolException.class, () -> run(negotiation(client, null)));
            assertEquals(SqlState.PROTOCOL_VIOLATION, e.sqlState());
            assertEquals("invalid length of startup packet: " + Integer.toUnsignedString(len), e.getMessage());
        }
    }

    @Test
    void theSmallestWellFormedStartupMessageIsAccepted() throws IOException {
        ScriptedTransport client = new ScriptedTransport(
                new MessageBuilder().int32(StartupRequest.PROTOCOL_3).cstring("user").cstring("a").byte1(0).build());
        StartupRequest.Startup s = run(negotiation(client, null));
        assertEquals(Map.of("user", "a"), s.parameters());
    }

    @Test
    void aNewerProtocolIsAnsweredWithNegotiateProtocolVersion() throws IOException {
        ScriptedTransport client = new ScriptedTransport(startup(2, "alice"));
        Negotiation n = negotiation(client, null);
        n.answerProtocolVersion(run(n));
        assertArrayEquals(Backend.negotiateProtocolVersion(0, List.of()), client.written.toByteArray());
    }

    @Test
    void anAcceptedSslRequestUpgradesTheConnectionAndTheStartupIsReadEncrypted() throws IOException {
        ScriptedTransport plain = new ScriptedTransport(sslRequest());
        ScriptedTransport secure = new ScriptedTransport(startup(2, "carol"));
        List<Transport> upgraded = new ArrayList<>();
        ClientOutput out = new ClientOutput(plain);
        Negotiation n = new Negotiation(ClientSession.newReader(plain.input()), out, (t, alreadyRead) -> {
            assertEquals(0, alreadyRead.length, "after an SSLRequest nothing of the handshake was read yet");
            upgraded.add(t);
            return secure;
        }, true);
        StartupRequest.Startup s = run(n);
        assertEquals("carol", s.user());
        assertEquals(List.of(plain), upgraded);
        assertArrayEquals(new byte[] {'S'}, plain.written.toByteArray(), "'S' goes out in plain text, before the TLS handshake");
        assertSame(secure, out.transport(), "the client is written and closed through the encrypted transport from now on");
        n.answerProtocolVersion(s);
        assertArrayEquals(Backend.negotiateProtocolVersion(0, List.of()), secure.written.toByteArray());
        out.close();
        assertTrue(secure.closed);
    }

    /** CVE-2021-23214: plain text pipelined behind the SSLRequest must never pass for encrypted bytes. */
    @Test
    void bytesPipelinedBehindAnAcceptedSslRequestAreRefusedBeforeTheUpgrade() throws IOException {
        ScriptedTransport plain = new ScriptedTransport(sslRequest(), startup(0, "mallory"));
        List<Transport> upgraded = new ArrayList<>();
        Negotiation n = negotiation(plain, (t, alreadyRead) -> {
            upgraded.add(t);
            return new ScriptedTransport(startup(0, "alice"));
        });
        ProtocolException e = assertThrows(ProtocolException.class, () -> run(n));
        assertEquals(SqlState.PROTOCOL_VIOLATION, e.sqlState());
        assertEquals("received unencrypted data after SSL request", e.getMessage());
        assertTrue(upgraded.isEmpty(), "no upgrade");
        assertEquals(0, plain.written.size(), "no 'S'");
    }

    /** A ClientHello where the startup packet would be, with TLS off: refused in words that say so, not as a 369 MB length. */
    @Test
    void directTlsWithoutTlsConfiguredIsRefusedByName() throws IOException {
        ScriptedTransport plain = new ScriptedTransport(new byte[] {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (byte) 0xfc});
        Negotiation n = negotiation(plain, null);
        ProtocolException e = assertThrows(ProtocolException.class, () -> run(n));
        assertTrue(e.getMessage().startsWith("received direct TLS connection request without TLS support"), e.getMessage());
    }

    /** A connection whose client side is a byte script (read in as few reads as it allows); what pgloom writes is kept. */
    static final class ScriptedTransport implements Transport {
        final byte[] script;
        final ByteArrayOutputStream written = new ByteArrayOutputStream();
        private final InputStream in;
        boolean closed;

        ScriptedTransport(byte[]... parts) {
            script = script(parts);
            in = new ByteArrayInputStream(script);
        }

        @Override
        public InputStream input() {
            return in;
        }

        @Override
        public OutputStream output() {
            return written;
        }

        @Override
        public void configure(io.pgloom.wire.tcp.TcpTuning tcp) {
        }

        @Override
        public String peer() {
            return "127.0.0.1:5000";
        }

        @Override
        public String remoteAddress() {
            return "127.0.0.1";
        }

        @Override
        public int remotePort() {
            return 5000;
        }

        @Override
        public String localAddress() {
            return "127.0.0.1";
        }

        @Override
        public int localPort() {
            return 6432;
        }

        @Override
        public ConnectionInfo info() {
            InetAddress loopback = InetAddress.getLoopbackAddress();
            return ConnectionInfo.tcp(new InetSocketAddress(loopback, 5000), new InetSocketAddress(loopback, 6432));
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    @Test
    void withTlsRequiredAPlainStartupIsRefusedInPgBouncersWords() throws IOException {
        ScriptedTransport plain = new ScriptedTransport(startup(2, "carol"));
        Negotiation n = new Negotiation(ClientSession.newReader(plain.input()), new ClientOutput(plain), (t, alreadyRead) -> t, true);
        ProtocolException e = assertThrows(ProtocolException.class, () -> run(n));
        assertEquals("SSL required", e.getMessage());
        assertEquals("08P01", e.sqlState());
    }

    @Test
    void anSslRequestInsideTlsIsRefused() throws IOException {
        ScriptedTransport plain = new ScriptedTransport(sslRequest());
        ScriptedTransport secure = new ScriptedTransport(sslRequest());
        Negotiation n = new Negotiation(ClientSession.newReader(plain.input()), new ClientOutput(plain), (t, alreadyRead) -> secure, true);
        ProtocolException e = assertThrows(ProtocolException.class, () -> run(n));
        assertTrue(e.getMessage().contains("inside an encrypted connection"), e.getMessage());
    }
}
