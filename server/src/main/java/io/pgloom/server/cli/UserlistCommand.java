package io.pgloom.server.cli;

import io.pgloom.config.ScramSecret;
import io.pgloom.wire.auth.Md5Password;
import io.pgloom.wire.auth.ScramSecrets;
import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code pgloom userlist add USER}: a userlist.txt entry without a hand-written script. */
@Command(name = "userlist", mixinStandardHelpOptions = true, description = "Edit a PgBouncer userlist.txt (auth_file).",
        subcommands = {UserlistCommand.Add.class, UserlistFromPostgres.class})
final class UserlistCommand {

    @Command(name = "add", mixinStandardHelpOptions = true,
            description = {"Add USER to the auth file, or replace its entry, with a secret made from a password",
                "read without echo (or from the first line of stdin when it is not a terminal).",
                "The file is created with mode 600; other lines and comments are kept as they are."})
    static final class Add implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "USER")
        String user;

        @Option(names = "--file", paramLabel = "FILE", defaultValue = "userlist.txt", description = "Default: ${DEFAULT-VALUE}.")
        Path file;

        @ArgGroup(exclusive = true)
        Kind kind = new Kind();

        static final class Kind {
            @Option(names = "--scram", description = "SCRAM-SHA-256 secret with a random salt (the default).")
            boolean scram;

            @Option(names = "--md5", description = "md5 hash, as PostgreSQL's md5 method and older PgBouncers use.")
            boolean md5;
        }

        @Option(names = "--iterations", paramLabel = "N", defaultValue = "4096",
                description = "PBKDF2 rounds of the SCRAM secret (scram_iterations). Default: ${DEFAULT-VALUE}.")
        int iterations;

        @Override
        public Integer call() throws IOException {
            if (user.isEmpty() || user.indexOf('\n') >= 0) {
                System.err.println("error: the user name must be one non-empty line");
                return 2;
            }
            if (iterations < 1) {
                System.err.println("error: --iterations must be at least 1");
                return 2;
            }
            String password = readPassword();
            if (password == null) {
                return 1;
            }
            String secret = kind.md5 ? Md5Password.hash(user, password) : ScramSecrets.fromPassword(password, iterations).format();
            if (!verifies(secret, password)) {
                System.err.println("error: the secret made for " + user + " does not verify against the password; nothing written");
                return 1;
            }
            Boolean replaced = AuthFileWriter.write(file, java.util.Map.of(user, secret));
            if (replaced == null) {
                return 1;
            }
            System.out.println((replaced ? "replaced " : "added ") + user + " in " + file + " ("
                    + (kind.md5 ? "md5" : "SCRAM-SHA-256, " + iterations + " iterations") + ")");
            return 0;
        }

        private boolean verifies(String secret, String password) {
            if (kind.md5) {
                return Md5Password.looksLikeMd5(secret) && secret.equals(Md5Password.hash(user, password));
            }
            ScramSecret parsed = ScramSecret.parse(secret).orElse(null);
            return parsed != null && parsed.equals(ScramSecrets.fromPassword(password, parsed.salt(), parsed.iterations()));
        }

        private static String readPassword() throws IOException {
            Console console = System.console();
            if (console != null && console.isTerminal()) {
                char[] first = console.readPassword("Password: ");
                char[] again = console.readPassword("Again: ");
                if (first == null || again == null || !Arrays.equals(first, again)) {
                    System.err.println("error: the passwords differ (or input ended); nothing written");
                    return null;
                }
                return new String(first);
            }
            String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            if (line == null || line.isEmpty()) {
                System.err.println("error: no password on stdin; nothing written");
                return null;
            }
            return line;
        }
    }

}
