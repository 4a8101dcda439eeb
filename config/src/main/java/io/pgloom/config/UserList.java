package io.pgloom.config;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads PgBouncer's {@code auth_file} ({@code userlist.txt}): one user a line,
 * {@code "name" "secret"}, each field in double quotes with {@code ""} for a quote inside;
 * the rest of the line is ignored, as PgBouncer ignores it.
 */
public final class UserList {

    private UserList() {
    }

    /**
     * @return users by name, in file order; a name listed twice keeps its last secret, as in
     *         PgBouncer
     * @throws ConfigException at the first bad line. PgBouncer logs "broken auth file" and keeps
     *                         the users before it, silently locking out everyone after it; pgloom
     *                         refuses the file instead.
     */
    public static Map<String, UserSecret> load(Path file) throws ConfigException {
        String shown = file.toString();
        List<String> lines = TextFile.lines(file, shown);
        Map<String, UserSecret> users = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            Location location = new Location(shown, i + 1);
            UserSecret user = parseLine(lines.get(i), location);
            if (user != null) {
                users.remove(user.user());
                users.put(user.user(), user);
            }
        }
        return Collections.unmodifiableMap(users);
    }

    /** The user on this line, or null for a blank or comment line. */
    private static UserSecret parseLine(String line, Location location) throws ConfigException {
        int pos = skipBlanks(line, 0);
        if (pos == line.length() || line.charAt(pos) == ';' || line.charAt(pos) == '#') {
            return null;
        }
        if (line.charAt(pos) != '"') {
            throw new ConfigException(location, "expected a user name in double quotes");
        }
        StringBuilder user = new StringBuilder();
        pos = readQuoted(line, pos + 1, user, location, "user name");
        pos = skipBlanks(line, pos);
        if (pos == line.length() || line.charAt(pos) != '"') {
            throw new ConfigException(location, "expected the password of user '" + user + "' in double quotes after the user name");
        }
        StringBuilder secret = new StringBuilder();
        readQuoted(line, pos + 1, secret, location, "password of user '" + user + "'");
        String text = secret.toString();
        if (text.startsWith(ScramSecret.PREFIX)) {
            try {
                ScramSecret.parseOrExplain(text);
            } catch (IllegalArgumentException e) {
                // PgBouncer would take a damaged secret as a plain-text password; say so instead.
                throw new ConfigException(location, "the SCRAM secret of user '" + user + "' is malformed: " + e.getMessage());
            }
        }
        return new UserSecret(user.toString(), text);
    }

    /** Reads up to the closing quote; returns the position after it. */
    private static int readQuoted(String line, int pos, StringBuilder out, Location location, String what)
            throws ConfigException {
        while (pos < line.length()) {
            char c = line.charAt(pos);
            if (c == '"') {
                if (pos + 1 < line.length() && line.charAt(pos + 1) == '"') {
                    out.append('"');
                    pos += 2;
                    continue;
                }
                return pos + 1;
            }
            out.append(c);
            pos++;
        }
        throw new ConfigException(location, "the " + what + " has no closing double quote");
    }

    private static int skipBlanks(String line, int pos) {
        while (pos < line.length() && Character.isWhitespace(line.charAt(pos))) {
            pos++;
        }
        return pos;
    }
}
