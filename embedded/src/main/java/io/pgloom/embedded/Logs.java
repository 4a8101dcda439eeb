package io.pgloom.embedded;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/** Pieces of a server log for error messages: a failure to start must say why. */
final class Logs {

    private static final int MAX_BYTES = 8192;
    private static final int MAX_LINES = 30;

    private Logs() {}

    /** The last lines of {@code logFile}, formatted to end an exception message. */
    static String tail(Path logFile) {
        return since(logFile, 0);
    }

    /** The last lines written to {@code logFile} after byte {@code offset}, formatted likewise. */
    static String since(Path logFile, long offset) {
        try (RandomAccessFile file = new RandomAccessFile(logFile.toFile(), "r")) {
            long end = file.length();
            long start = Math.max(offset, end - MAX_BYTES);
            byte[] bytes = new byte[(int) (end - start)];
            file.seek(start);
            file.readFully(bytes);
            List<String> lines = new String(bytes, StandardCharsets.UTF_8).lines().toList();
            if (start > offset && !lines.isEmpty()) {
                lines = lines.subList(1, lines.size()); // the first one is cut
            }
            if (lines.size() > MAX_LINES) {
                lines = lines.subList(lines.size() - MAX_LINES, lines.size());
            }
            if (lines.isEmpty()) {
                return "; the log " + logFile + " says nothing";
            }
            return "; last lines of " + logFile + ":\n    " + String.join("\n    ", lines);
        } catch (IOException e) {
            return "; no log to show (" + logFile + ": " + e.getMessage() + ")";
        }
    }
}
