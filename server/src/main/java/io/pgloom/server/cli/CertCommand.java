package io.pgloom.server.cli;

import io.pgloom.wire.tls.DevCertificates;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code pgloom cert dev --out DIR}: certificates for trying TLS, in place of hand-written openssl scripts. */
@Command(name = "cert", mixinStandardHelpOptions = true, description = "Certificates for TLS.",
        subcommands = CertCommand.Dev.class)
final class CertCommand {

    @Command(name = "dev", mixinStandardHelpOptions = true,
            description = {"Write a development CA and the certificates it signs into DIR:",
                "  ca.crt (and ca.key), server.crt/server.key for pgloom (and PostgreSQL),",
                "  client.crt/client.key with the common name of --user, for client-certificate logins.",
                "For development and tests only: the CA's key lies beside what it signs."})
    static final class Dev implements Callable<Integer> {
        @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory to write into (created if missing).")
        Path out;

        @Option(names = "--hosts", split = ",", paramLabel = "HOST[,HOST...]", defaultValue = "localhost,127.0.0.1,::1",
                description = "Names and addresses the server certificate is for (subjectAltName; verify-full checks them). Default: ${DEFAULT-VALUE}.")
        List<String> hosts;

        @Option(names = "--user", paramLabel = "USER", defaultValue = "postgres",
                description = "Common name of the client certificate (the user a cert login maps to). Default: ${DEFAULT-VALUE}.")
        String user;

        @Option(names = "--days", paramLabel = "N", defaultValue = "365", description = "Validity in days. Default: ${DEFAULT-VALUE}.")
        int days;

        @Override
        public Integer call() throws IOException {
            if (days < 1) {
                System.err.println("error: --days must be at least 1");
                return 2;
            }
            Files.createDirectories(out);
            for (String name : List.of("ca", "server", "client")) {
                if (Files.exists(out.resolve(name + ".key"))) {
                    System.err.println("error: " + out.resolve(name + ".key") + " exists; pgloom does not overwrite keys (remove it first)");
                    return 1;
                }
            }
            Duration validity = Duration.ofDays(days);
            DevCertificates dev = DevCertificates.newCa("pgloom development CA", validity);
            dev.ca().write(out, "ca");
            dev.server(hosts.getFirst(), hosts, validity).write(out, "server");
            dev.client(user, validity).write(out, "client");
            System.out.println("wrote " + out.resolve("ca.crt") + ", server.crt/.key (" + String.join(", ", hosts)
                    + "), client.crt/.key (CN=" + user + "), valid " + days + " days");
            System.out.println("pgbouncer.ini:");
            System.out.println("  client_tls_sslmode = require");
            System.out.println("  client_tls_cert_file = " + out.toAbsolutePath().resolve("server.crt"));
            System.out.println("  client_tls_key_file = " + out.toAbsolutePath().resolve("server.key"));
            System.out.println("  client_tls_ca_file = " + out.toAbsolutePath().resolve("ca.crt"));
            return 0;
        }
    }
}
