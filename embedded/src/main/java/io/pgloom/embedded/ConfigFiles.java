package io.pgloom.embedded;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;

/**
 * The configuration files we write into a data directory.
 *
 * <p>Our settings live in their own {@code pgloom.conf}, which {@code postgresql.conf} includes
 * at its end (so ours win over initdb's), and which is rewritten before every start: a copied
 * data directory (a replica made from a primary's files) thus gets its own port. Nothing goes on
 * the postgres command line, because command-line settings cannot be changed by
 * {@code ALTER SYSTEM} and a reload, and tests of the pooler want to do exactly that.
 */
final class ConfigFiles {

    static final String SETTINGS_FILE = "pgloom.conf";
    private static final String INCLUDE = "include_if_exists = '" + SETTINGS_FILE + "'";

    private ConfigFiles() {}

    /** Our settings, rewritten whole; {@code postgresql.conf} is made to include them once. */
    static void writeSettings(Path dataDirectory, Map<String, String> settings, PostgresAccount account)
            throws IOException {
        StringBuilder conf = new StringBuilder("# Written by pgloom's EmbeddedPostgres before each start.\n");
        settings.forEach((name, value) -> conf.append(name).append(" = ").append(quote(value)).append('\n'));
        Path file = dataDirectory.resolve(SETTINGS_FILE);
        Files.writeString(file, conf, StandardCharsets.UTF_8);
        account.own(file);

        Path main = dataDirectory.resolve("postgresql.conf");
        List<String> lines = Files.readAllLines(main, StandardCharsets.UTF_8);
        if (lines.stream().noneMatch(l -> l.strip().equals(INCLUDE))) {
            Files.writeString(main, "\n" + INCLUDE + "\n", StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        }
    }

    /**
     * {@code pg_hba.conf}: the caller's lines first (first match wins), then trust on the Unix
     * socket (only this account can reach it, in a 0700 data directory) and {@code hostMethod} on
     * loopback, for ordinary and replication connections alike.
     */
    static void writeHba(Path dataDirectory, List<String> extraLines, String hostMethod, PostgresAccount account)
            throws IOException {
        StringBuilder hba = new StringBuilder("# Written by pgloom's EmbeddedPostgres.\n");
        if (!extraLines.isEmpty()) {
            hba.append("# Lines given to the builder come first: the first matching line decides.\n");
            extraLines.forEach(l -> hba.append(l).append('\n'));
            hba.append('\n');
        }
        hba.append("# TYPE  DATABASE     USER  ADDRESS       METHOD\n");
        hba.append("local   all          all                 trust\n");
        hba.append("local   replication  all                 trust\n");
        for (String address : List.of("127.0.0.1/32", "::1/128")) {
            hba.append("host    all          all   ").append(String.format("%-13s ", address)).append(hostMethod)
                    .append('\n');
            hba.append("host    replication  all   ").append(String.format("%-13s ", address)).append(hostMethod)
                    .append('\n');
        }
        Path file = dataDirectory.resolve("pg_hba.conf");
        Files.writeString(file, hba, StandardCharsets.UTF_8);
        account.own(file);
    }

    /** A postgresql.conf value: always quoted, which every setting type accepts. */
    static String quote(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'";
    }
}
