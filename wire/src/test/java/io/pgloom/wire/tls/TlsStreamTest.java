package io.pgloom.wire.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server side of TLS over plain blocking streams against the JDK's own TLS client on a real
 * TCP socket: handshake, data both ways in sizes that cross record boundaries, a KeyUpdate in the
 * middle, and the failures a pooler meets (a client that refuses the certificate, garbage instead
 * of a ClientHello, a client that hangs up in the middle).
 */
class TlsStreamTest {
    @TempDir
    Path dir;

    private TlsAcceptor acceptor(String mode) throws Exception {
        DevCertificates dev = DevCertificates.newCa("test CA", Duration.ofDays(1));
        Files.writeString(dir.resolve("ca.crt"), dev.ca().certificatePem());
        dev.server("localhost", List.of("localhost", "127.0.0.1"), Duration.ofDays(1)).write(dir, "server");
        dev.client("alice", Duration.ofDays(1)).write(dir, "client");
        return TlsAcceptor.load(TlsMode.of(mode), dir.resolve("server.crt").toString(), dir.resolve("server.key").toString(),
                mode.startsWith("verify") ? dir.resolve("ca.crt").toString() : "", "secure");
    }

    private SSLContext clientContext() throws Exception {
        KeyStore trust = PemFiles.trustStore(dir.resolve("ca.crt"));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** Accepts one connection and runs {@code server} on the plain streams, on its own thread. */
    private static <T> CompletableFuture<T> serveOnce(ServerSocket ss, IoFunction<Socket, T> server) {
        return CompletableFuture.supplyAsync(() -> {
            try (Socket s = ss.accept()) {
                return server.apply(s);
            } catch (IOException e) {
                throw new java.util.concurrent.CompletionException(e);
            }
        });
    }

    /** Accepts one connection and runs a handshake that is expected to fail: completes with the failure (null if none). */
    private static CompletableFuture<Throwable> handshakeFailure(ServerSocket ss, TlsAcceptor acceptor) {
        return serveOnce(ss, s -> {
            try {
                acceptor.accept(s.getInputStream(), s.getOutputStream());
                return null;
            } catch (IOException e) {
                return e;
            }
        });
    }

    @FunctionalInterface
    interface IoFunction<A, B> {
        B apply(A a) throws IOException;
    }

    @Test
    void echoesDataBothWaysAcrossRecordBoundariesAndAKeyUpdate() throws Exception {
        TlsAcceptor acceptor = acceptor("require");
        byte[] big = new byte[100_000];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) (i * 31);
        }
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<String> server = serveOnce(ss, s -> {
                TlsStream t = acceptor.accept(s.getInputStream(), s.getOutputStream());
                InputStream in = t.input();
                OutputStream out = t.output();
                byte[] got = in.readNBytes(big.length);
                out.write(got); // echo
                byte[] more = in.readNBytes(5);
                out.write(more);
                return t.session().getProtocol();
            });
            try (SSLSocket c = (SSLSocket) clientContext().getSocketFactory().createSocket("localhost", ss.getLocalPort())) {
                c.startHandshake();
                c.getOutputStream().write(big);
                assertArrayEquals(big, c.getInputStream().readNBytes(big.length));
                // TLS 1.3: a KeyUpdate asks the server to answer with its own; reading must handle it.
                c.startHandshake();
                c.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
                assertEquals("hello", new String(c.getInputStream().readNBytes(5), StandardCharsets.US_ASCII));
            }
            assertEquals("TLSv1.3", server.get(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void garbageInsteadOfAClientHelloFailsTheHandshakeOnly() throws Exception {
        TlsAcceptor acceptor = acceptor("require");
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Throwable> server = handshakeFailure(ss, acceptor);
            try (Socket c = new Socket(InetAddress.getLoopbackAddress(), ss.getLocalPort())) {
                c.getOutputStream().write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                Throwable t = server.get(10, TimeUnit.SECONDS);
                assertTrue(t instanceof javax.net.ssl.SSLException, String.valueOf(t));
            }
        }
    }

    @Test
    void aClientThatHangsUpMidHandshakeEndsItWithEof() throws Exception {
        TlsAcceptor acceptor = acceptor("require");
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Throwable> server = handshakeFailure(ss, acceptor);
            try (Socket c = new Socket(InetAddress.getLoopbackAddress(), ss.getLocalPort())) {
                c.getOutputStream().write(new byte[] {0x16, 0x03, 0x01, 0x00, (byte) 0xc8, 0x01}); // a record header, then nothing
            }
            Throwable t = server.get(10, TimeUnit.SECONDS);
            assertTrue(t instanceof IOException, String.valueOf(t));
        }
    }

    @Test
    void verifyFullRefusesAClientWithoutACertificate() throws Exception {
        TlsAcceptor acceptor = acceptor("verify-full");
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Throwable> server = handshakeFailure(ss, acceptor);
            try (SSLSocket c = (SSLSocket) clientContext().getSocketFactory().createSocket("localhost", ss.getLocalPort())) {
                // TLS 1.3: the client may finish its side before the server's refusal arrives.
                assertThrows(IOException.class, () -> {
                    c.startHandshake();
                    c.getOutputStream().write(1);
                    c.getInputStream().read();
                });
            }
            Throwable t = server.get(10, TimeUnit.SECONDS);
            assertTrue(t instanceof SSLHandshakeException, String.valueOf(t));
            assertTrue(t.getMessage().toLowerCase().contains("certificate"), t.getMessage());
        }
    }

    @Test
    void modesThatEncryptNeedTheirFiles() {
        TlsConfigException e = assertThrows(TlsConfigException.class,
                () -> TlsAcceptor.load(TlsMode.REQUIRE, "", "", "", "secure"));
        assertTrue(e.getMessage().contains("client_tls_cert_file"), e.getMessage());
        e = assertThrows(TlsConfigException.class,
                () -> TlsAcceptor.load(TlsMode.REQUIRE, dir.resolve("none.crt").toString(), dir.resolve("none.key").toString(), "", "secure"));
        assertTrue(e.getMessage().contains("none.crt") && e.getMessage().contains("no such file"), e.getMessage());
    }
}
