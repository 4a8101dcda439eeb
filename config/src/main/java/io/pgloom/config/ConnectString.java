package io.pgloom.config;

import java.util.ArrayList;
import java.util.List;

/**
 * The {@code key=value key='quoted value'} strings of {@code [databases]}, {@code [users]} and
 * {@code [peers]}, read as PgBouncer reads them (its own parser, not libpq's): a value is either
 * a run of non-blanks or single-quoted with {@code ''} standing for one quote; there are no
 * backslash escapes; blanks may surround {@code =}; empty values are refused.
 */
public final class ConnectString {

    /** One {@code key=value} pair, value unquoted. */
    record Param(String key, String value) {
    }

    private ConnectString() {
    }

    /** @throws IllegalArgumentException naming the offending parameter */
    static List<Param> parse(String text) {
        List<Param> params = new ArrayList<>();
        int pos = skipBlanks(text, 0);
        while (pos < text.length()) {
            int keyStart = pos;
            while (pos < text.length() && text.charAt(pos) != '=' && !isBlank(text.charAt(pos))) {
                pos++;
            }
            String key = text.substring(keyStart, pos);
            pos = skipBlanks(text, pos);
            if (key.isEmpty()) {
                throw new IllegalArgumentException("a parameter name is missing before '='");
            }
            if (pos >= text.length() || text.charAt(pos) != '=') {
                throw new IllegalArgumentException("expected '=' after '" + key + "'");
            }
            pos = skipBlanks(text, pos + 1);
            StringBuilder value = new StringBuilder();
            if (pos < text.length() && text.charAt(pos) == '\'') {
                pos++;
                while (true) {
                    if (pos >= text.length()) {
                        throw new IllegalArgumentException("the quoted value of '" + key + "' has no closing quote");
                    }
                    char c = text.charAt(pos);
                    if (c == '\'') {
                        if (pos + 1 < text.length() && text.charAt(pos + 1) == '\'') {
                            value.append('\'');
                            pos += 2;
                            continue;
                        }
                        pos++;
                        break;
                    }
                    value.append(c);
                    pos++;
                }
                if (pos < text.length() && !isBlank(text.charAt(pos))) {
                    throw new IllegalArgumentException("expected a blank after the quoted value of '" + key + "'");
                }
            } else {
                while (pos < text.length() && !isBlank(text.charAt(pos))) {
                    value.append(text.charAt(pos));
                    pos++;
                }
            }
            if (value.isEmpty()) {
                throw new IllegalArgumentException("empty value for '" + key + "'");
            }
            params.add(new Param(key, value.toString()));
            pos = skipBlanks(text, pos);
        }
        return params;
    }

    /**
     * The pairs of {@code text} by key, the last of a repeated key winning, for tools that take a
     * libpq-style connection string ({@code pgloom userlist from-postgres}).
     *
     * @throws IllegalArgumentException naming the offending parameter
     */
    public static java.util.Map<String, String> toMap(String text) {
        java.util.Map<String, String> map = new java.util.LinkedHashMap<>();
        for (Param p : parse(text)) {
            map.put(p.key(), p.value());
        }
        return map;
    }

    // PgBouncer separates pairs with spaces only; a tab there is surely meant as a separator too.
    private static boolean isBlank(char c) {
        return c == ' ' || c == '\t';
    }

    private static int skipBlanks(String text, int pos) {
        while (pos < text.length() && isBlank(text.charAt(pos))) {
            pos++;
        }
        return pos;
    }
}
