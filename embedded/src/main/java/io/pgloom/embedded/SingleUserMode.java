package io.pgloom.embedded;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs SQL in {@code postgres --single}, before the server listens: there is no client to
 * connect with (the zonky binaries have no psql) and no window where the roles exist without
 * their passwords.
 *
 * <p>The input rules of single-user mode decide the shape of what we send. Without {@code -j}
 * every newline ends a command, so a statement could not span lines. With {@code -j} a command
 * ends at a semicolon followed by an empty line, and one command holding several statements runs
 * them as one implicit transaction block, where {@code CREATE DATABASE} fails ("cannot run inside
 * a transaction block"). So each statement goes as its own command, {@code ";\n\n"}-terminated,
 * and a blank line after a line ending in a semicolon inside a statement (a function body) gets a
 * space so it cannot end the command early.
 * {@code exit_on_error} turns the first ERROR into FATAL and a non-zero exit, since single-user
 * mode otherwise reports errors and carries on with exit code 0.
 */
final class SingleUserMode {

    private SingleUserMode() {}

    static void run(PostgresBinaries binaries, PostgresAccount account, Path dataDirectory, List<String> statements,
            Path logFile, Duration timeout) throws IOException {
        if (statements.isEmpty()) {
            return;
        }
        long logStart = Files.exists(logFile) ? Files.size(logFile) : 0;
        List<String> command = account.command(List.of(binaries.postgres().toString(), "--single", "-j",
                "-D", dataDirectory.toString(), "-c", "exit_on_error=on", "postgres"));
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(dataDirectory.toFile())
                .redirectErrorStream(true)
                // To the log, not a pipe: a SELECT's output could fill a pipe while we still write.
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
        binaries.prepare(builder.environment());
        Process process = builder.start();
        try (OutputStream in = process.getOutputStream()) {
            for (String statement : statements) {
                in.write(command(statement).getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            // The backend died early (a FATAL at startup): its exit code and log say more than EPIPE.
        }
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IOException("bootstrap SQL in single-user mode did not finish within " + timeout.toSeconds()
                        + " s" + Logs.since(logFile, logStart));
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running bootstrap SQL", e);
        }
        if (process.exitValue() != 0) {
            throw new IOException("bootstrap SQL failed in single-user mode (exit code " + process.exitValue() + ")"
                    + Logs.since(logFile, logStart));
        }
    }

    /** One statement as one {@code -j} command. */
    static String command(String statement) {
        String s = statement.replace("\r\n", "\n").strip();
        while (s.endsWith(";")) {
            s = s.substring(0, s.length() - 1).strip();
        }
        List<String> lines = new ArrayList<>(s.lines().toList());
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).isEmpty() && lines.get(i - 1).endsWith(";")) {
                lines.set(i, " ");
            }
        }
        return String.join("\n", lines) + ";\n\n";
    }
}
