package io.pgloom.server;

import io.pgloom.config.ConfigException;
import io.pgloom.config.SettingValues;
import io.pgloom.server.backend.ServerTls;
import io.pgloom.server.control.Pooler;
import io.pgloom.server.frontend.ClientTls;
import io.pgloom.wire.tls.TlsAcceptor;
import io.pgloom.wire.tls.TlsConfigException;
import io.pgloom.wire.tls.TlsConnector;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the TLS of both sides (client_tls_*, server_tls_*) into the pooler: at start, where a
 * missing or broken file stops the start with its name; and at RELOAD, SIGHUP and SET, where, as
 * in PgBouncer, the rest of the change stands, the error names the file, and the running TLS keeps
 * serving until a later change loads. The files are read anew each time even when their names did
 * not change: that is how certificates are rotated.
 */
final class TlsSetup {
    // Logs as the server, as the reload lines around it do.
    private static final Logger log = LoggerFactory.getLogger(PgloomServer.class);

    private TlsSetup() {
    }

    /** Both sides as the settings read at start describe them; each null when its sslmode is disable. */
    record Loaded(TlsAcceptor client, TlsConnector server) {
        void applyTo(Pooler pooler) {
            pooler.clientTls(client);
            pooler.serverTls(server, List.of());
        }
    }

    static Loaded atStart(Path configFile, SettingValues settings) throws ConfigException {
        try {
            return new Loaded(ClientTls.load(settings), ServerTls.load(settings));
        } catch (TlsConfigException e) {
            throw new ConfigException(configFile.toString(), e.getMessage());
        }
    }

    /**
     * After the pooler took {@code next} (its previous settings were {@code previous}): loads both
     * sides anew, or only the side {@code onlyPrefix} names ("client_tls", "server_tls"; null:
     * both). Servers opened under server_tls_* settings that changed go as they are released.
     * False when a side failed to load (logged, with {@code what}: "reload", "SET key").
     */
    static boolean reload(SettingValues previous, SettingValues next, Pooler pooler, String what, String onlyPrefix) {
        boolean ok = true;
        if (onlyPrefix == null || onlyPrefix.equals("client_tls")) {
            try {
                pooler.clientTls(ClientTls.load(next));
            } catch (TlsConfigException e) {
                refused(what, "client", e);
                ok = false;
            }
        }
        if (onlyPrefix == null || onlyPrefix.equals("server_tls")) {
            try {
                pooler.serverTls(ServerTls.load(next), ServerTls.changed(previous, next));
            } catch (TlsConfigException e) {
                refused(what, "server", e);
                ok = false;
            }
        }
        return ok;
    }

    private static void refused(String what, String side, TlsConfigException e) {
        log.error("{}: {} TLS configuration could not be loaded, keeping the old one: {}", what, side, e.getMessage());
    }
}
