package io.pgloom.server.backend;

import io.pgloom.config.SettingValues;
import io.pgloom.wire.tls.TlsConnector;
import io.pgloom.wire.tls.TlsConfigException;
import io.pgloom.wire.tls.TlsMode;
import java.util.List;

/**
 * TLS towards PostgreSQL, from the server_tls_* settings: what the server loads at start, RELOAD
 * and SET (a broken file refuses the change and the running connector keeps serving), and which
 * settings, when they change, make the open server connections go (PgBouncer closes them too:
 * they were made under the old rules).
 */
public final class ServerTls {
    /** The settings whose change replaces every server connection as it is released. */
    public static final List<String> SETTINGS = List.of("server_tls_sslmode", "server_tls_ca_file",
            "server_tls_cert_file", "server_tls_key_file", "server_tls_protocols", "server_tls_ciphers",
            "server_tls13_ciphers");

    private ServerTls() {
    }

    /** The connector the settings describe; null when server_tls_sslmode is disable. */
    public static TlsConnector load(SettingValues v) throws TlsConfigException {
        return TlsConnector.load(TlsMode.of(v.string("server_tls_sslmode")), v.string("server_tls_ca_file"),
                v.string("server_tls_cert_file"), v.string("server_tls_key_file"), v.string("server_tls_protocols"),
                v.string("server_tls_ciphers"), v.string("server_tls13_ciphers"));
    }

    /** The server_tls_* settings that differ between {@code a} and {@code b}. */
    public static List<String> changed(SettingValues a, SettingValues b) {
        return SETTINGS.stream().filter(k -> !String.valueOf(a.string(k)).equals(String.valueOf(b.string(k)))).toList();
    }
}
