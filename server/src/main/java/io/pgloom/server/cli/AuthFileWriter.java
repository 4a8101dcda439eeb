package io.pgloom.server.cli;

import io.pgloom.config.ConfigException;
import io.pgloom.config.UserList;
import io.pgloom.config.UserSecret;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes entries into a PgBouncer userlist.txt the way {@code pgloom userlist} promises: an
 * existing entry for a user is replaced in place, other lines and comments stay, a new file gets
 * mode 600, and the result is read back as pgloom reads an auth_file before it atomically replaces
 * the old file.
 */
final class AuthFileWriter {
    private AuthFileWriter() {
    }

    /**
     * Writes {@code secrets} (user to secret, in order) into {@code file}. Returns whether the
     * first user's entry replaced one (true) or was added (false), or null when nothing was
     * written (the reason is on stderr).
     */
    static Boolean write(Path file, Map<String, String> secrets) throws IOException {
        List<String> lines = Files.exists(file) ? Files.readAllLines(file, StandardCharsets.UTF_8) : new ArrayList<>();
        Boolean firstReplaced = null;
        for (Map.Entry<String, String> e : secrets.entrySet()) {
            boolean replaced = replaceOrAppend(lines, e.getKey(), quote(e.getKey()) + " " + quote(e.getValue()));
            if (firstReplaced == null) {
                firstReplaced = replaced;
            }
        }
        Path tmp = file.toAbsolutePath().resolveSibling("." + file.getFileName() + ".pgloom-tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.write(tmp, lines, StandardCharsets.UTF_8);
        try {
            // Read back as pgloom reads an auth_file: every entry must be there and be its secret.
            Map<String, UserSecret> back = UserList.load(tmp);
            for (Map.Entry<String, String> e : secrets.entrySet()) {
                UserSecret got = back.get(e.getKey());
                if (got == null || !got.secret().equals(e.getValue())) {
                    throw new ConfigException(tmp.toString(), "the entry for " + e.getKey() + " did not read back");
                }
            }
        } catch (ConfigException e) {
            Files.deleteIfExists(tmp);
            System.err.println("error: " + e.getMessage() + "; " + file + " left as it was");
            return null;
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return firstReplaced == null ? Boolean.FALSE : firstReplaced;
    }

    /** PgBouncer's quoting: in double quotes, a double quote doubled. */
    static String quote(String s) {
        return '"' + s.replace("\"", "\"\"") + '"';
    }

    /** Replaces the line(s) for {@code user} with {@code entry} (the first keeps its place), or appends it; true if replaced. */
    static boolean replaceOrAppend(List<String> lines, String user, String entry) {
        boolean replaced = false;
        for (int i = 0; i < lines.size(); i++) {
            if (user.equals(firstQuoted(lines.get(i)))) {
                if (replaced) {
                    lines.remove(i--);
                } else {
                    lines.set(i, entry);
                    replaced = true;
                }
            }
        }
        if (!replaced) {
            lines.add(entry);
        }
        return replaced;
    }

    /** The user name a userlist line starts with, or null for a comment, a blank or a broken line. */
    private static String firstQuoted(String line) {
        String t = line.stripLeading();
        if (!t.startsWith("\"")) {
            return null;
        }
        StringBuilder name = new StringBuilder();
        for (int i = 1; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c == '"') {
                if (i + 1 < t.length() && t.charAt(i + 1) == '"') {
                    name.append('"');
                    i++;
                } else {
                    return name.toString();
                }
            } else {
                name.append(c);
            }
        }
        return null;
    }
}
