package io.pgloom.wire.tls;

import java.util.Locale;

/**
 * client_tls_sslmode and server_tls_sslmode: libpq's six sslmode names, with PgBouncer's meanings.
 * Towards clients: {@code disable} answers every SSLRequest 'N'; {@code allow} and {@code prefer}
 * encrypt a client that asks; {@code require} refuses a TCP client that does not ask (the Unix
 * socket is never encrypted, and never refused for it); {@code verify-ca} and {@code verify-full}
 * also demand a client certificate that client_tls_ca_file vouches for.
 */
public enum TlsMode {
    DISABLE, ALLOW, PREFER, REQUIRE, VERIFY_CA, VERIFY_FULL;

    /** The mode a setting's value names (already checked against the six names by the config parser). */
    public static TlsMode of(String name) {
        return valueOf(name.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
    }

    /** Whether a plain-text TCP connection is refused. */
    public boolean requiresTls() {
        return compareTo(REQUIRE) >= 0;
    }

    /** Whether the peer's certificate must be presented and vouched for by the CA file. */
    public boolean verifiesPeer() {
        return compareTo(VERIFY_CA) >= 0;
    }

    /** The setting's spelling: {@code verify-full}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
