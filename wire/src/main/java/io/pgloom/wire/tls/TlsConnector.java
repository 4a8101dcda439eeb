package io.pgloom.wire.tls;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The TLS side pgloom shows PostgreSQL: whether it asks for TLS at all, how it checks the
 * server's certificate, the client certificate it presents, the protocols it speaks. From the
 * server_tls_* settings, with libpq's sslmode meanings as PgBouncer applies them:
 * {@code allow} and {@code prefer} ask for TLS and go on in plain text when the server declines,
 * without checking its certificate; {@code require} insists on TLS, still without checking;
 * {@code verify-ca} checks the chain against server_tls_ca_file (the JDK's trusted CAs when
 * empty); {@code verify-full} also checks the host name pgloom connected to against the
 * certificate's names (IP address SANs for an address).
 *
 * <p>Built once per configuration load; immutable, shared by every thread that opens servers.
 */
public final class TlsConnector {
    private final TlsMode mode;
    private final SSLContext context;
    private final String[] protocols;
    /** The cipher suites to enable. */
    private final String[] suites;

    private TlsConnector(TlsMode mode, SSLContext context, String[] protocols, String[] suites) {
        this.mode = mode;
        this.context = context;
        this.protocols = protocols;
        this.suites = suites;
    }

    /**
     * From the server_tls_* settings; null for {@code disable}. A client certificate needs both
     * its files; a file that does not load is refused by name.
     */
    public static TlsConnector load(TlsMode mode, String caFile, String certFile, String keyFile, String protocols,
                                    String ciphers, String tls13Ciphers) throws TlsConfigException {
        if (mode == TlsMode.DISABLE) {
            return null;
        }
        if (certFile.isBlank() != keyFile.isBlank()) {
            throw new TlsConfigException("server_tls_cert_file and server_tls_key_file go together: "
                    + (certFile.isBlank() ? "server_tls_key_file" : "server_tls_cert_file") + " is set, the other is not");
        }
        String[] enabled = TlsProtocols.parse("server_tls_protocols", protocols);
        FastX25519.install();
        List<String> tls13 = TlsCiphers.tls13("server_tls13_ciphers", tls13Ciphers);
        try {
            KeyManager[] keys = null;
            if (!certFile.isBlank()) {
                KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
                kmf.init(PemFiles.keyStore(Path.of(certFile), Path.of(keyFile)), new char[0]);
                keys = kmf.getKeyManagers();
            }
            TrustManager[] trust;
            if (!mode.verifiesPeer()) {
                trust = new TrustManager[] {AcceptAny.INSTANCE};
            } else {
                TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(caFile.isBlank() ? null : PemFiles.trustStore(Path.of(caFile)));
                trust = tmf.getTrustManagers();
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(keys, trust, null);
            // PostgreSQL turns session resumption off: a cache would only hold memory.
            ctx.getClientSessionContext().setSessionCacheSize(1);
            ctx.getClientSessionContext().setSessionTimeout(1);
            String[] suites = TlsCiphers.enabled(TlsCiphers.tls12("server_tls_ciphers", ciphers,
                    ctx.getDefaultSSLParameters().getCipherSuites()), tls13);
            return new TlsConnector(mode, ctx, enabled, suites);
        } catch (GeneralSecurityException e) {
            throw new TlsConfigException("server TLS: " + e.getMessage());
        }
    }

    public TlsMode mode() {
        return mode;
    }

    /**
     * Runs the client side of a handshake with the server at {@code host} over the plain streams
     * of a connection whose SSLRequest the server answered 'S'. Under verify-full the certificate
     * must name {@code host}.
     */
    public TlsStream connect(InputStream in, OutputStream out, String host, int port) throws IOException {
        SSLEngine engine = context.createSSLEngine(host, port);
        engine.setUseClientMode(true);
        SSLParameters p = engine.getSSLParameters();
        p.setProtocols(protocols);
        p.setCipherSuites(suites);
        if (mode == TlsMode.VERIFY_FULL) {
            // RFC 2818's rules: DNS names (with a leading wildcard) or, for an address, IP SANs;
            // the CN only when the certificate has no DNS name at all, as libpq does.
            p.setEndpointIdentificationAlgorithm("HTTPS");
        }
        engine.setSSLParameters(p);
        return TlsStream.handshake(engine, in, out);
    }

    /** require and the modes below it: encrypted, the certificate not checked (libpq's and PgBouncer's meaning). */
    private static final class AcceptAny extends X509ExtendedTrustManager {
        static final AcceptAny INSTANCE = new AcceptAny();

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
