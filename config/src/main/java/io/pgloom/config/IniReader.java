package io.pgloom.config;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Reads {@code pgbouncer.ini} syntax into {@link IniLine}s, expanding {@code %include} in place.
 * Hand-written because every message must carry file:line and because ini libraries know
 * nothing of {@code %include}.
 *
 * <p>The syntax is PgBouncer's (libusual's cfparser): a line starting with {@code ;} or {@code #}
 * is a comment, but those characters mean nothing later in a line; a key is made of letters,
 * digits and {@code _.-*}, or is quoted; the value runs to the end of the line, blanks around it
 * dropped.
 */
final class IniReader {

    /** PgBouncer stops at this depth too (libusual's MAX_INCLUDE), which also ends loops there. */
    static final int MAX_INCLUDE_DEPTH = 10;

    private final Path workingDirectory;
    private final List<IniLine> lines = new ArrayList<>();
    private final Deque<Path> including = new ArrayDeque<>();

    private IniReader(Path workingDirectory) {
        this.workingDirectory = workingDirectory;
    }

    /**
     * @param file             the top file, absolute or relative to {@code workingDirectory}
     * @param shown            how the top file is named in messages
     * @param workingDirectory what relative {@code %include} paths resolve against
     */
    static List<IniLine> read(Path file, String shown, Path workingDirectory) throws ConfigException {
        IniReader reader = new IniReader(workingDirectory);
        reader.readFile(workingDirectory.resolve(file).normalize(), shown, 0);
        return List.copyOf(reader.lines);
    }

    private void readFile(Path file, String shown, int depth) throws ConfigException {
        List<String> text = TextFile.lines(file, shown);
        including.push(realPath(file));
        for (int i = 0; i < text.size(); i++) {
            readLine(text.get(i), new Location(shown, i + 1), depth);
        }
        including.pop();
    }

    private void readLine(String line, Location location, int depth) throws ConfigException {
        String text = stripLeading(line);
        if (text.isEmpty()) {
            return;
        }
        if (text.startsWith("%include") && text.length() > 8 && isBlank(text.charAt(8))) {
            include(text.substring(8).strip(), location, depth);
            return;
        }
        char first = text.charAt(0);
        if (first == ';' || first == '#') {
            return;
        }
        if (first == '[') {
            lines.add(sectionHeader(text, location));
            return;
        }
        lines.add(keyValue(text, location));
    }

    /**
     * PgBouncer opens a relative include path as it is, that is against its current working
     * directory, not against the including file's directory (documented, and checked against
     * PgBouncer 1.18). pgloom does the same so that an existing layout keeps working.
     */
    private void include(String name, Location location, int depth) throws ConfigException {
        if (name.isEmpty()) {
            throw new ConfigException(location, "%include needs a file name");
        }
        if (depth >= MAX_INCLUDE_DEPTH) {
            throw new ConfigException(location, "%include nested more than " + MAX_INCLUDE_DEPTH + " levels deep");
        }
        Path target = workingDirectory.resolve(name).normalize();
        Path real = realPath(target);
        if (including.contains(real)) {
            List<Path> chain = new ArrayList<>(including.reversed());
            chain.add(real);
            throw new ConfigException(location, "%include loop: " + chain.stream().map(Path::toString)
                    .collect(Collectors.joining(" -> ")));
        }
        try {
            readFile(target, target.toString(), depth + 1);
        } catch (ConfigException e) {
            if (e.location().equals(target.toString())) {
                throw new ConfigException(location, "cannot read included file '" + name + "' ("
                        + target + "): " + e.getMessage().substring(e.location().length() + 2));
            }
            throw e;
        }
    }

    private static IniLine sectionHeader(String text, Location location) throws ConfigException {
        int close = text.indexOf(']');
        if (close < 0) {
            throw new ConfigException(location, "syntax error: section header without a closing ']'");
        }
        String rest = text.substring(close + 1).strip();
        if (!rest.isEmpty() && rest.charAt(0) != ';' && rest.charAt(0) != '#') {
            throw new ConfigException(location, "syntax error: unexpected text after the section header: '" + rest + "'");
        }
        return new IniLine.SectionHeader(text.substring(1, close), location);
    }

    private static IniLine keyValue(String text, Location location) throws ConfigException {
        int pos;
        String key;
        char first = text.charAt(0);
        if (first == '\'') {
            // libusual's quoting: no escapes inside.
            int close = text.indexOf('\'', 1);
            if (close < 0) {
                throw new ConfigException(location, "syntax error: name without a closing quote (')");
            }
            key = text.substring(1, close);
            pos = close + 1;
        } else if (first == '"') {
            // SQL identifier quoting, as PgBouncer's documentation describes for database names.
            StringBuilder name = new StringBuilder();
            pos = 1;
            while (true) {
                int close = text.indexOf('"', pos);
                if (close < 0) {
                    throw new ConfigException(location, "syntax error: name without a closing quote (\")");
                }
                name.append(text, pos, close);
                if (close + 1 < text.length() && text.charAt(close + 1) == '"') {
                    name.append('"');
                    pos = close + 2;
                } else {
                    pos = close + 1;
                    break;
                }
            }
            key = name.toString();
        } else {
            pos = 0;
            while (pos < text.length() && isKeyChar(text.charAt(pos))) {
                pos++;
            }
            key = text.substring(0, pos);
        }
        if (key.isEmpty()) {
            throw new ConfigException(location,
                    "syntax error: expected 'name = value', '[section]', a comment or '%include file'");
        }
        while (pos < text.length() && isBlank(text.charAt(pos))) {
            pos++;
        }
        if (pos >= text.length() || text.charAt(pos) != '=') {
            throw new ConfigException(location, "syntax error: expected '=' after '" + key + "'"
                    + " (names may contain only letters, digits and _ . - *, or be quoted)");
        }
        return new IniLine.KeyValue(key, text.substring(pos + 1).strip(), location);
    }

    private static boolean isKeyChar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || "_.-*".indexOf(c) >= 0;
    }

    private static boolean isBlank(char c) {
        return c == ' ' || c == '\t';
    }

    private static String stripLeading(String line) {
        int i = 0;
        while (i < line.length() && Character.isWhitespace(line.charAt(i))) {
            i++;
        }
        return line.substring(i);
    }

    private static Path realPath(Path path) {
        try {
            return path.toRealPath();
        } catch (IOException missing) {
            return path.toAbsolutePath().normalize();
        }
    }
}
