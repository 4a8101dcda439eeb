package io.pgloom.config;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/** A checked, typed value of one {@code [pgbouncer]} setting. */
sealed interface SettingValue {

    record Text(String value) implements SettingValue {
    }

    record Int(int value) implements SettingValue {
    }

    record Flag(boolean value) implements SettingValue {
    }

    record Time(Duration value) implements SettingValue {
    }

    record Items(List<String> values) implements SettingValue {
    }

    /** An enum word in its canonical lower-case spelling. */
    record Choice(String value) implements SettingValue {
    }

    // strtod accepts more (hex floats, inf, nan), but nobody writes those for a timeout. The
    // exponent is capped so that 1e999999999 cannot make a billion-digit number.
    Pattern SECONDS = Pattern.compile("\\+?(\\d+\\.?\\d*|\\.\\d+)([eE][+-]?\\d{1,3})?");

    /**
     * Checks {@code raw} against the setting's type.
     *
     * @throws IllegalArgumentException whose message says what was expected, e.g. "expected an
     *                                  integer"
     */
    static SettingValue parse(Setting setting, String raw) {
        return switch (setting.type()) {
            case STRING -> {
                if (setting.name().equals("max_replica_lag")) {
                    ReplicaLag.parse(raw);
                }
                yield new Text(raw);
            }
            case LIST -> new Items(splitList(raw));
            case INT -> new Int(parseInt(raw, "expected an integer"));
            case OCTAL_INT -> new Int(parseInt(raw, "expected an integer (a leading 0 means octal, as in 0777)"));
            case BOOL -> new Flag(parseBool(raw));
            case TIME -> new Time(parseSeconds(raw));
            case ENUM -> {
                String choice = parseChoice(setting, raw);
                if (setting.name().equals("auth_type")) {
                    AuthType.parse(choice);
                }
                yield new Choice(choice);
            }
        };
    }

    /**
     * Parses a default from the table. PgBouncer leaves a few numeric defaults unset
     * ({@code verbose}), which it reads as zero.
     */
    static SettingValue parseDefault(Setting setting) {
        if (setting.defaultValue().isEmpty()) {
            switch (setting.type()) {
                case INT, OCTAL_INT -> {
                    return new Int(0);
                }
                case BOOL -> {
                    return new Flag(false);
                }
                default -> {
                }
            }
        }
        return parse(setting, setting.defaultValue());
    }

    static List<String> splitList(String raw) {
        return Arrays.stream(raw.split(",")).map(String::strip).filter(item -> !item.isEmpty()).toList();
    }

    /**
     * Reads an integer the way C's {@code strtol(s, &end, 0)} does, since that is what PgBouncer
     * calls: optional sign, {@code 0x} for hexadecimal, a leading {@code 0} for octal (so
     * {@code 010} is eight), and nothing may follow the digits. Unlike PgBouncer, which silently
     * truncates to its {@code int}, a value outside the 32-bit range is refused.
     */
    static int parseInt(String raw, String expected) {
        String text = raw;
        boolean negative = false;
        if (text.startsWith("+") || text.startsWith("-")) {
            negative = text.charAt(0) == '-';
            text = text.substring(1);
        }
        int radix = 10;
        if (text.length() > 2 && (text.startsWith("0x") || text.startsWith("0X"))) {
            radix = 16;
            text = text.substring(2);
        } else if (text.length() > 1 && text.startsWith("0")) {
            radix = 8;
            text = text.substring(1);
        }
        int base = radix;
        if (text.isEmpty() || !text.chars().allMatch(c -> c < 128 && Character.digit(c, base) >= 0)) {
            throw new IllegalArgumentException(expected);
        }
        BigInteger value = new BigInteger(text, base);
        if (negative) {
            value = value.negate();
        }
        if (value.bitLength() > 31) {
            throw new IllegalArgumentException("expected an integer between " + Integer.MIN_VALUE + " and "
                    + Integer.MAX_VALUE);
        }
        return value.intValue();
    }

    static boolean parseBool(String raw) {
        switch (raw.toLowerCase(Locale.ROOT)) {
            case "yes", "on", "true" -> {
                return true;
            }
            case "no", "off", "false" -> {
                return false;
            }
            default -> {
                try {
                    return parseInt(raw, "") != 0;
                } catch (IllegalArgumentException notANumber) {
                    throw new IllegalArgumentException("expected a boolean (0 or 1, yes or no, on or off, true or false)");
                }
            }
        }
    }

    /** Seconds as PgBouncer keeps them: in microseconds, the rest cut off. */
    static Duration parseSeconds(String raw) {
        if (!SECONDS.matcher(raw).matches()) {
            throw new IllegalArgumentException("expected a number of seconds (fractions allowed, no unit)");
        }
        try {
            long micros = new BigDecimal(raw).movePointRight(6).setScale(0, RoundingMode.DOWN).longValueExact();
            return Duration.ofSeconds(micros / 1_000_000, (micros % 1_000_000) * 1_000);
        } catch (ArithmeticException tooLarge) {
            throw new IllegalArgumentException("expected a number of seconds, but this one is too large");
        }
    }

    private static String parseChoice(Setting setting, String raw) {
        for (String choice : setting.choices()) {
            if (choice.equalsIgnoreCase(raw)) {
                return choice;
            }
        }
        throw new IllegalArgumentException("expected one of " + String.join(", ", setting.choices()));
    }
}
