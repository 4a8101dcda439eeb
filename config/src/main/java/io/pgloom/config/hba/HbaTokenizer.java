package io.pgloom.config.hba;

import io.pgloom.config.ConfigException;
import java.util.ArrayList;
import java.util.List;

/**
 * Splits one line of an hba or ident file into fields, as pg_hba.conf is read: fields are
 * separated by blanks, a field is a comma-separated list of items (blanks around the commas are
 * allowed), an item in double quotes may hold blanks, commas and {@code #}, with {@code ""} for a
 * quote, and {@code #} outside quotes starts a comment.
 */
final class HbaTokenizer {

    /**
     * One item of a field.
     *
     * @param quoted true if it was written in double quotes: then it is a name, never a keyword
     *               ({@code "all"} is the database called all)
     */
    record Token(String text, boolean quoted) {

        /** True if this is the keyword {@code word}, written without quotes. */
        boolean is(String word) {
            return !quoted && text.equals(word);
        }

        @Override
        public String toString() {
            return quoted ? "\"" + text.replace("\"", "\"\"") + "\"" : text;
        }
    }

    private final String line;
    private final String location;
    private int pos;

    private HbaTokenizer(String line, String location) {
        this.line = line;
        this.location = location;
    }

    /** The fields of {@code line}, each a non-empty list of items; empty for a blank or comment line. */
    static List<List<Token>> fields(String line, String location) throws ConfigException {
        return new HbaTokenizer(line, location).fields();
    }

    private List<List<Token>> fields() throws ConfigException {
        List<List<Token>> fields = new ArrayList<>();
        while (skipBlanks()) {
            List<Token> field = new ArrayList<>();
            field.add(item());
            while (skipBlanks() && line.charAt(pos) == ',') {
                pos++;
                if (!skipBlanks()) {
                    throw new ConfigException(location, "the list " + join(field) + ", ends with a comma");
                }
                field.add(item());
            }
            fields.add(List.copyOf(field));
        }
        return fields;
    }

    /** Skips blanks; false at the end of the line or at a comment. */
    private boolean skipBlanks() {
        while (pos < line.length() && Character.isWhitespace(line.charAt(pos))) {
            pos++;
        }
        return pos < line.length() && line.charAt(pos) != '#';
    }

    private Token item() throws ConfigException {
        char first = line.charAt(pos);
        if (first == ',') {
            throw new ConfigException(location, "a comma with nothing before it");
        }
        if (first == '"') {
            return quoted();
        }
        int start = pos;
        while (pos < line.length()) {
            char c = line.charAt(pos);
            if (Character.isWhitespace(c) || c == ',' || c == '#') {
                break;
            }
            if (c == '"') {
                throw new ConfigException(location, "a double quote inside " + line.substring(start, pos)
                        + "\"...: quote the whole name");
            }
            pos++;
        }
        return new Token(line.substring(start, pos), false);
    }

    private Token quoted() throws ConfigException {
        StringBuilder text = new StringBuilder();
        for (pos++; pos < line.length(); pos++) {
            char c = line.charAt(pos);
            if (c == '"') {
                if (pos + 1 < line.length() && line.charAt(pos + 1) == '"') {
                    text.append('"');
                    pos++;
                    continue;
                }
                pos++;
                if (pos < line.length() && !Character.isWhitespace(line.charAt(pos)) && line.charAt(pos) != ','
                        && line.charAt(pos) != '#') {
                    throw new ConfigException(location, "text right after the quoted name \"" + text
                            + "\": put a blank or a comma between items");
                }
                return new Token(text.toString(), true);
            }
            text.append(c);
        }
        throw new ConfigException(location, "the quoted name \"" + text + " has no closing double quote");
    }

    static String join(List<Token> field) {
        return String.join(",", field.stream().map(Token::toString).toList());
    }
}
