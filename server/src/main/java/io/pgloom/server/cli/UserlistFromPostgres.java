package io.pgloom.server.cli;

import io.pgloom.config.ConnectString;
import io.pgloom.config.ScramSecret;
import io.pgloom.wire.auth.Md5Password;
import io.pgloom.wire.backend.BackendConnection;
import io.pgloom.wire.backend.BackendConnector;
import io.pgloom.wire.backend.BackendOptions;
import io.pgloom.wire.backend.Endpoint;
import io.pgloom.wire.backend.ServerCredentials;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.FrameReader;
import io.pgloom.wire.protocol.MessageBuilder;
import io.pgloom.wire.protocol.MessageReader;
import io.pgloom.wire.protocol.PgloomError;
import io.pgloom.wire.tcp.Dialer;
import io.pgloom.wire.tcp.TcpTuning;
import io.pgloom.wire.tls.TlsConfigException;
import io.pgloom.wire.tls.TlsConnector;
import io.pgloom.wire.tls.TlsMode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code pgloom userlist from-postgres CONNSTR}: userlist.txt entries copied from PostgreSQL's
 * {@code pg_authid}, for operators who keep the secrets in PostgreSQL. The secrets are SCRAM or md5
 * hashes, never passwords, and pgloom logs such users in (and, for SCRAM, on to the server) as it
 * would with hand-written entries.
 */
@Command(name = "from-postgres", mixinStandardHelpOptions = true,
        description = {"Add or replace userlist entries with the password secrets PostgreSQL holds (pg_authid:",
            "needs a superuser, or a role allowed to read it). CONNSTR is libpq's key=value form: host, port,",
            "user, dbname, password (else PGPASSWORD), sslmode (disable, prefer, require, verify-ca, verify-full)",
            "and sslrootcert. Roles that cannot log in, have no password or whose password has expired are left out."})
final class UserlistFromPostgres implements Callable<Integer> {
    static final String QUERY = "SELECT rolname, rolpassword FROM pg_catalog.pg_authid WHERE rolcanlogin"
            + " AND rolpassword IS NOT NULL AND (rolvaliduntil IS NULL OR rolvaliduntil > now()) ORDER BY rolname";
    private static final Set<String> KEYS = Set.of("host", "port", "user", "dbname", "password", "sslmode", "sslrootcert",
            "connect_timeout");

    @Parameters(index = "0", paramLabel = "CONNSTR")
    String connectString;

    @Option(names = "--file", paramLabel = "FILE", defaultValue = "userlist.txt", description = "Default: ${DEFAULT-VALUE}.")
    Path file;

    @Option(names = "--role", paramLabel = "NAME", split = ",",
            description = "Only these roles (default: every role that can log in with a password).")
    List<String> roles;

    @Override
    public Integer call() throws IOException {
        Map<String, String> conn;
        try {
            conn = ConnectString.toMap(connectString);
        } catch (IllegalArgumentException e) {
            System.err.println("error: CONNSTR: " + e.getMessage());
            return 2;
        }
        for (String key : conn.keySet()) {
            if (!KEYS.contains(key)) {
                System.err.println("error: CONNSTR: unknown key " + key + " (use " + String.join(", ", KEYS) + ")");
                return 2;
            }
        }
        Map<String, String> secrets;
        try {
            secrets = fetch(conn);
        } catch (PgloomError e) {
            System.err.println("error: PostgreSQL refused: " + e.getMessage());
            return 1;
        } catch (IOException | TlsConfigException | IllegalArgumentException e) {
            System.err.println("error: " + e.getMessage());
            return 1;
        }
        Map<String, String> chosen = new LinkedHashMap<>();
        List<String> skipped = new ArrayList<>();
        secrets.forEach((role, secret) -> {
            if (roles != null && !roles.contains(role)) {
                return;
            }
            // PostgreSQL 10+ stores only hashes; anything else is not a secret pgloom can use.
            if (ScramSecret.parse(secret).isPresent() || Md5Password.looksLikeMd5(secret)) {
                chosen.put(role, secret);
            } else {
                skipped.add(role);
            }
        });
        if (roles != null) {
            roles.stream().filter(r -> !secrets.containsKey(r)).forEach(r -> skipped.add(r + " (no such login role with a password)"));
        }
        if (chosen.isEmpty()) {
            System.err.println("error: no role to write" + (skipped.isEmpty() ? "" : "; skipped: " + String.join(", ", skipped)));
            return 1;
        }
        if (AuthFileWriter.write(file, chosen) == null) {
            return 1;
        }
        System.out.println("wrote " + chosen.size() + " entr" + (chosen.size() == 1 ? "y" : "ies") + " to " + file + ": "
                + String.join(", ", chosen.keySet()) + (skipped.isEmpty() ? "" : "; skipped: " + String.join(", ", skipped)));
        return 0;
    }

    /** Logs in as libpq would with these keys and runs {@link #QUERY}: role to secret. */
    private static Map<String, String> fetch(Map<String, String> conn) throws IOException, PgloomError, TlsConfigException {
        String host = conn.getOrDefault("host", "127.0.0.1");
        int port = Integer.parseInt(conn.getOrDefault("port", "5432"));
        String user = conn.getOrDefault("user", System.getProperty("user.name"));
        String password = conn.getOrDefault("password", System.getenv("PGPASSWORD"));
        String mode = conn.getOrDefault("sslmode", "prefer");
        TlsConnector tls = TlsConnector.load(TlsMode.of(mode), conn.getOrDefault("sslrootcert", ""), "", "", "secure",
                "default", "");
        int timeoutMillis = Integer.parseInt(conn.getOrDefault("connect_timeout", "10")) * 1000;
        BackendConnector connector = new BackendConnector(new BackendOptions(timeoutMillis, TcpTuning.DEFAULT, Dialer.JDK, tls));
        BackendConnection c = connector.login(new Endpoint(host, port), conn.getOrDefault("dbname", "postgres"),
                Map.of("application_name", "pgloom userlist from-postgres"),
                new ServerCredentials(user, password, null, null, null));
        try {
            c.conduit().readTimeout(timeoutMillis);
            c.out().write(new MessageBuilder('Q').cstring(QUERY).build());
            c.out().flush();
            return rows(c.reader());
        } finally {
            try {
                c.out().write(new byte[] {'X', 0, 0, 0, 4});
                c.out().flush();
            } catch (IOException ignored) {
                // closing anyway
            }
            c.conduit().close();
        }
    }

    /** Reads a simple query's answer up to ReadyForQuery: each DataRow's two text columns. */
    private static Map<String, String> rows(FrameReader reader) throws IOException, PgloomError {
        Map<String, String> out = new LinkedHashMap<>();
        PgloomError error = null;
        while (true) {
            FrameReader.Message m = reader.readMessage(16 << 20);
            switch (m.type()) {
                case 'D' -> {
                    MessageReader r = new MessageReader(m.body());
                    r.int16();
                    String role = text(r);
                    String secret = text(r);
                    if (role != null && secret != null) {
                        out.put(role, secret);
                    }
                }
                case 'E' -> error = new PgloomError(ErrorResponse.decode(m.body(), 0, m.body().length));
                case 'Z' -> {
                    if (error != null) {
                        throw error;
                    }
                    return out;
                }
                default -> {
                    // RowDescription, CommandComplete, notices, ParameterStatus: nothing to keep
                }
            }
        }
    }

    private static String text(MessageReader r) throws IOException {
        int n = r.int32();
        return n < 0 ? null : new String(r.bytes(n), StandardCharsets.UTF_8);
    }
}
