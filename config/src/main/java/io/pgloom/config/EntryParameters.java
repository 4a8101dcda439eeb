package io.pgloom.config;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;

/**
 * The checked parameters of one {@code [databases]}, {@code [users]} or {@code [peers]} entry.
 * Parameter names are case-sensitive, as in PgBouncer ({@code Host=} is refused there too).
 */
final class EntryParameters {

    private final Map<String, String> raw;

    private EntryParameters(Map<String, String> raw) {
        this.raw = raw;
    }

    /**
     * @param known every parameter name this kind of entry accepts
     * @throws IllegalArgumentException for a syntax error or a parameter not in {@code known};
     *                                  PgBouncer refuses the whole file in both cases
     */
    static EntryParameters parse(String text, Set<String> known) {
        Map<String, String> raw = new LinkedHashMap<>();
        for (ConnectString.Param param : ConnectString.parse(text)) {
            if (!known.contains(param.key())) {
                throw new IllegalArgumentException(unknown(param.key(), known));
            }
            // A repeated key: the last one wins, as in PgBouncer.
            raw.remove(param.key());
            raw.put(param.key(), param.value());
        }
        return new EntryParameters(Collections.unmodifiableMap(raw));
    }

    private static String unknown(String key, Set<String> known) {
        String message = "unknown parameter '" + key + "'";
        String lower = key.toLowerCase(Locale.ROOT);
        if (!lower.equals(key) && known.contains(lower)) {
            return message + "; did you mean '" + lower + "'? Parameter names are case-sensitive";
        }
        return message + "; known parameters: " + String.join(", ", new TreeSet<>(known));
    }

    /** Parameters already checked by {@link #parse}: an entry's {@code raw()} map. */
    static EntryParameters of(Map<String, String> raw) {
        return new EntryParameters(raw);
    }

    Map<String, String> raw() {
        return raw;
    }

    /** The value, or null when absent. */
    String string(String key) {
        return raw.get(key);
    }

    /** A decimal integer (PgBouncer reads these with atoi, which knows no hex or octal). */
    OptionalInt integer(String key) {
        String value = raw.get(key);
        if (value == null) {
            return OptionalInt.empty();
        }
        if (!value.matches("[+-]?\\d{1,10}")) {
            throw invalid(key, value, "expected an integer");
        }
        long number = Long.parseLong(value);
        if (number != (int) number) {
            throw invalid(key, value, "expected an integer");
        }
        return OptionalInt.of((int) number);
    }

    /**
     * A size or limit where PgBouncer takes a value below {@code floor} as "not set here, use the
     * global setting"; such values come back empty so callers need no second rule.
     */
    OptionalInt override(String key, int floor) {
        OptionalInt value = integer(key);
        return value.isPresent() && value.getAsInt() < floor ? OptionalInt.empty() : value;
    }

    void checkSeconds(String key) {
        String value = raw.get(key);
        if (value != null) {
            try {
                SettingValue.parseSeconds(value);
            } catch (IllegalArgumentException e) {
                throw invalid(key, value, e.getMessage());
            }
        }
    }

    void checkChoice(String key, List<String> choices) {
        String value = raw.get(key);
        if (value != null && choices.stream().noneMatch(value::equalsIgnoreCase)) {
            throw invalid(key, value, "expected one of " + String.join(", ", choices));
        }
    }

    static IllegalArgumentException invalid(String key, String value, String expected) {
        return new IllegalArgumentException("invalid value '" + value + "' for '" + key + "': " + expected);
    }
}
