package io.pgloom.wire.tls;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;

/**
 * The TLS side pgloom shows its clients: the certificate and key it presents, the CA that vouches
 * for client certificates, the protocols it speaks. Built once per configuration load (so a
 * RELOAD that names new files takes effect for the next handshake, and one that names broken files
 * is refused with the file's name while this one keeps serving); immutable, shared by every
 * listener thread.
 */
public final class TlsAcceptor {
    /** The ALPN protocol name PostgreSQL registered (IANA), which PostgreSQL 17's clients send. */
    public static final String POSTGRESQL_ALPN = "postgresql";

    private final TlsMode mode;
    private final SSLContext context;
    private final String[] protocols;
    private final boolean wantCertificate;
    /** The cipher suites to enable. */
    private final String[] suites;
    /** The key-exchange groups to offer; null: the JDK's. */
    private final String[] groups;

    private TlsAcceptor(TlsMode mode, SSLContext context, String[] protocols, boolean wantCertificate, String[] suites,
                        String[] groups) {
        this.mode = mode;
        this.context = context;
        this.protocols = protocols;
        this.wantCertificate = wantCertificate;
        this.suites = suites;
        this.groups = groups;
    }

    /**
     * From the client_tls_* settings; null for {@code disable}. A mode that encrypts needs the
     * certificate and key; {@code verify-ca} and {@code verify-full} the CA file too.
     */
    public static TlsAcceptor load(TlsMode mode, String certFile, String keyFile, String caFile, String protocols)
            throws TlsConfigException {
        return load(mode, certFile, keyFile, caFile, protocols, "default", "");
    }

    /**
     * As above, with client_tls_ciphers ({@code ciphers}, an OpenSSL list for TLS 1.2; default:
     * the JDK's) and client_tls13_ciphers ({@code tls13Ciphers}; empty: the JDK's defaults).
     */
    public static TlsAcceptor load(TlsMode mode, String certFile, String keyFile, String caFile, String protocols,
                                   String ciphers, String tls13Ciphers) throws TlsConfigException {
        return load(mode, certFile, keyFile, caFile, protocols, ciphers, tls13Ciphers, TlsKeyExchange.DEFAULT);
    }

    /** As above, with client_tls_dheparams and client_tls_ecdhcurve ({@code keyExchange}). */
    public static TlsAcceptor load(TlsMode mode, String certFile, String keyFile, String caFile, String protocols,
                                   String ciphers, String tls13Ciphers, TlsKeyExchange keyExchange) throws TlsConfigException {
        if (mode == TlsMode.DISABLE) {
            return null;
        }
        if (certFile.isBlank() || keyFile.isBlank()) {
            throw new TlsConfigException("client_tls_sslmode = " + mode.configName()
                    + " needs client_tls_cert_file and client_tls_key_file");
        }
        if (mode.verifiesPeer() && caFile.isBlank()) {
            throw new TlsConfigException("client_tls_sslmode = " + mode.configName()
                    + " needs client_tls_ca_file to verify client certificates");
        }
        String[] enabled = TlsProtocols.parse("client_tls_protocols", protocols);
        FastX25519.install();
        java.util.List<String> tls13 = TlsCiphers.tls13("client_tls13_ciphers", tls13Ciphers);
        try {
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(PemFiles.keyStore(Path.of(certFile), Path.of(keyFile)), new char[0]);
            TrustManagerFactory tmf = null;
            if (!caFile.isBlank()) {
                KeyStore trust = PemFiles.trustStore(Path.of(caFile));
                tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
                tmf.init(trust);
            }
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), tmf == null ? null : tmf.getTrustManagers(), null);
            // No session cache: libpq never resumes a session (PostgreSQL turns resumption off
            // too), and the JDK's default cache keeps up to 20,480 sessions for a day: memory
            // that a pooler taking a connection per transaction would fill for nothing.
            ctx.getServerSessionContext().setSessionCacheSize(1);
            ctx.getServerSessionContext().setSessionTimeout(1);
            // With a CA file and a mode that does not demand a certificate, ask for one anyway (as
            // PgBouncer does): a client that sends one can then log in with the cert method.
            String[] suites = keyExchange.suites(TlsCiphers.enabled(TlsCiphers.tls12("client_tls_ciphers", ciphers,
                    ctx.getDefaultSSLParameters().getCipherSuites()), tls13));
            String[] groups = keyExchange.groups(ctx.getDefaultSSLParameters().getNamedGroups());
            return new TlsAcceptor(mode, ctx, enabled, tmf != null, suites, groups);
        } catch (GeneralSecurityException e) {
            throw new TlsConfigException("client TLS: " + e.getMessage());
        }
    }

    public TlsMode mode() {
        return mode;
    }

    /** Runs the server side of a handshake over a client's plain streams. */
    public TlsStream accept(InputStream in, OutputStream out) throws IOException {
        SSLEngine engine = context.createSSLEngine();
        engine.setUseClientMode(false);
        SSLParameters p = engine.getSSLParameters();
        p.setProtocols(protocols);
        p.setCipherSuites(suites);
        // PostgreSQL 17's ALPN name: a client that offers ALPN must offer this one (the
        // handshake fails with no_application_protocol otherwise), and a direct TLS connection
        // must have negotiated it (Negotiation checks); older clients offer none.
        p.setApplicationProtocols(new String[] {POSTGRESQL_ALPN});
        if (groups != null) {
            p.setNamedGroups(groups);
        }
        if (mode.verifiesPeer()) {
            p.setNeedClientAuth(true);
        } else if (wantCertificate) {
            p.setWantClientAuth(true);
        }
        engine.setSSLParameters(p);
        return TlsStream.handshake(engine, in, out);
    }
}
