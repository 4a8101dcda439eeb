package io.pgloom.server.frontend;

import io.pgloom.config.SettingValues;
import io.pgloom.server.net.Transport;
import io.pgloom.wire.tls.TlsAcceptor;
import io.pgloom.wire.tls.TlsConfigException;
import io.pgloom.wire.tls.TlsKeyExchange;
import io.pgloom.wire.tls.TlsMode;

/**
 * TLS towards clients, from the client_tls_* settings: what the server loads at start, RELOAD and
 * SET (a broken file refuses the change and the running acceptor keeps serving), and the upgrade a
 * client's negotiation runs when it asks for TLS.
 */
public final class ClientTls {
    private ClientTls() {
    }

    /** The acceptor the settings describe; null when client_tls_sslmode is disable. */
    public static TlsAcceptor load(SettingValues v) throws TlsConfigException {
        if (v.string("auth_type").strip().equalsIgnoreCase("cert")
                && (v.string("client_tls_ca_file").isBlank() || TlsMode.of(v.string("client_tls_sslmode")) == TlsMode.DISABLE)) {
            // PgBouncer refuses this too: nobody could log in.
            throw new TlsConfigException("auth_type = cert needs client TLS with a CA to check client certificates:"
                    + " set client_tls_sslmode (not disable) and client_tls_ca_file");
        }
        return TlsAcceptor.load(TlsMode.of(v.string("client_tls_sslmode")), v.string("client_tls_cert_file"),
                v.string("client_tls_key_file"), v.string("client_tls_ca_file"), v.string("client_tls_protocols"),
                v.string("client_tls_ciphers"), v.string("client_tls13_ciphers"),
                TlsKeyExchange.parse(v.string("client_tls_dheparams"), v.string("client_tls_ecdhcurve")));
    }

    /** The upgrade for a client on {@code plain}, or null: TLS off, or the Unix socket (never encrypted). */
    static Transport.Upgrade upgradeFor(TlsAcceptor acceptor, Transport plain) {
        if (acceptor == null || plain instanceof Transport.Unix) {
            return null;
        }
        return (p, alreadyRead) -> {
            java.io.InputStream in = alreadyRead.length == 0 ? p.input()
                    : new java.io.SequenceInputStream(new java.io.ByteArrayInputStream(alreadyRead), p.input());
            return new Transport.Tls(p, acceptor.accept(in, p.output()));
        };
    }
}
