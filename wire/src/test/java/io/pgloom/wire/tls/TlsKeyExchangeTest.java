package io.pgloom.wire.tls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** client_tls_dheparams and client_tls_ecdhcurve: parsed in OpenSSL's words, and felt by a real client's handshake. */
class TlsKeyExchangeTest {
    @TempDir
    Path dir;

    @Test
    void valuesInOpenSslsAndTheJdksSpelling() throws Exception {
        assertEquals(TlsKeyExchange.DEFAULT, TlsKeyExchange.parse("auto", "auto"));
        assertEquals(new TlsKeyExchange(true, true, "secp256r1"), TlsKeyExchange.parse("legacy", "prime256v1"));
        assertEquals(new TlsKeyExchange(false, true, "x25519"), TlsKeyExchange.parse("none", "X25519"));
        TlsConfigException both = assertThrows(TlsConfigException.class, () -> TlsKeyExchange.parse("none", "none"));
        assertTrue(both.getMessage().contains("leave no key exchange"), both.getMessage());
        TlsConfigException curve = assertThrows(TlsConfigException.class, () -> TlsKeyExchange.parse("auto", "brainpoolP256r1"));
        assertTrue(curve.getMessage().contains("client_tls_ecdhcurve: unknown curve \"brainpoolP256r1\""), curve.getMessage());
        TlsConfigException dh = assertThrows(TlsConfigException.class, () -> TlsKeyExchange.parse("/etc/dh.pem", "auto"));
        assertTrue(dh.getMessage().startsWith("client_tls_dheparams: unknown value"), dh.getMessage());
    }

    @Test
    void suitesAndGroupsFollowTheSettings() throws Exception {
        String[] groups = {"x25519", "secp256r1", "secp384r1", "ffdhe2048", "ffdhe3072"};
        assertNull(TlsKeyExchange.DEFAULT.groups(groups));
        assertArrayEquals(new String[] {"secp384r1", "ffdhe2048", "ffdhe3072"}, TlsKeyExchange.parse("auto", "secp384r1").groups(groups));
        assertArrayEquals(new String[] {"x25519", "secp256r1", "secp384r1"}, TlsKeyExchange.parse("none", "auto").groups(groups));
        assertArrayEquals(new String[] {"ffdhe2048", "ffdhe3072"}, TlsKeyExchange.parse("auto", "none").groups(groups));
        assertArrayEquals(new String[] {"TLS_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
                TlsKeyExchange.parse("none", "auto").suites(new String[] {"TLS_AES_128_GCM_SHA256",
                    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"}));
    }

    /** A TLS acceptor for localhost, certificates from a fresh CA in {@link #dir}, with {@code keyExchange}. */
    private TlsAcceptor acceptor(TlsKeyExchange keyExchange) throws Exception {
        DevCertificates dev = DevCertificates.newCa("test CA", Duration.ofDays(1));
        Files.writeString(dir.resolve("ca.crt"), dev.ca().certificatePem());
        dev.server("localhost", List.of("localhost"), Duration.ofDays(1)).write(dir, "server");
        return TlsAcceptor.load(TlsMode.REQUIRE, dir.resolve("server.crt").toString(),
                dir.resolve("server.key").toString(), "", "secure", "default", "", keyExchange);
    }

    @Test
    void aClientWithoutTheConfiguredCurveIsRefusedAndOneWithItIsServed() throws Exception {
        TlsAcceptor acceptor = acceptor(TlsKeyExchange.parse("none", "secp384r1"));
        assertThrows(javax.net.ssl.SSLException.class, () -> handshake(acceptor, "x25519"));
        assertEquals("TLSv1.3", handshake(acceptor, "secp384r1"));
    }

    /**
     * Loading TLS puts Bouncy Castle's XDH first for JSSE (FastX25519), and an X25519 handshake
     * goes through it: the JDK's TLS code casts the keys to the JDK's XECPublicKey, which Bouncy
     * Castle's Java 11 classes implement (in pgloom's jar only because its manifest says
     * Multi-Release; bench/RESULTS.md, 2026-12-04).
     */
    @Test
    void x25519HandshakesUseBouncyCastlesXdh() throws Exception {
        TlsAcceptor acceptor = acceptor(TlsKeyExchange.DEFAULT);
        assertEquals(FastX25519.NAME, java.security.Security.getProviders()[0].getName());
        assertEquals(FastX25519.NAME, java.security.KeyPairGenerator.getInstance("XDH").getProvider().getName());
        assertEquals("TLSv1.3", handshake(acceptor, "x25519"));
    }

    /** A JDK client offering only {@code group}; the protocol it agreed on. */
    private String handshake(TlsAcceptor acceptor, String group) throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(PemFiles.trustStore(dir.resolve("ca.crt")));
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        try (ServerSocket ss = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> server = CompletableFuture.runAsync(() -> {
                try (Socket s = ss.accept()) {
                    acceptor.accept(s.getInputStream(), s.getOutputStream());
                } catch (IOException e) {
                    // the refused case: the client sees the alert
                }
            });
            try (SSLSocket c = (SSLSocket) ctx.getSocketFactory().createSocket("localhost", ss.getLocalPort())) {
                SSLParameters p = c.getSSLParameters();
                p.setNamedGroups(new String[] {group});
                c.setSSLParameters(p);
                c.startHandshake();
                return c.getSession().getProtocol();
            } finally {
                server.get(10, TimeUnit.SECONDS);
            }
        }
    }
}
