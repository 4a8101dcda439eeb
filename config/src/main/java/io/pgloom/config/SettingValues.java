package io.pgloom.config;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Typed view over the {@code [pgbouncer]} section: every setting of the {@link Settings} table,
 * with the table's default wherever the file is silent. Immutable; {@link #with} makes a changed
 * copy for {@code SET}.
 */
public final class SettingValues {

    private final Map<String, String> explicit;
    private final Map<String, String> locations;
    private final String conffile;
    private final Map<String, SettingValue> values = new LinkedHashMap<>();

    /**
     * @param explicit  name to raw value, for the settings the file set, in file order
     * @param locations name to "file:line" of the line that set it (may lack entries)
     * @param conffile  the file these settings came from, shown as {@code conffile}'s value the way
     *                  PgBouncer shows the file named on its command line; may be empty
     * @throws IllegalArgumentException for an unknown name or a value of the wrong type
     */
    SettingValues(Map<String, String> explicit, Map<String, String> locations, String conffile) {
        this.explicit = Collections.unmodifiableMap(new LinkedHashMap<>(explicit));
        this.locations = Map.copyOf(locations);
        this.conffile = conffile;
        for (Setting setting : Settings.all()) {
            String raw = explicit.get(setting.name());
            values.put(setting.name(), raw == null ? SettingValue.parseDefault(setting) : SettingValue.parse(setting, raw));
        }
        for (String name : explicit.keySet()) {
            setting(name);
        }
    }

    /** Every setting at its default. */
    public static SettingValues defaults() {
        return new SettingValues(Map.of(), Map.of(), "");
    }

    /**
     * A copy with one setting changed, as {@code SET name = value} on the admin console does.
     *
     * @throws IllegalArgumentException for an unknown name or a value of the wrong type; the
     *                                  message says what was expected
     */
    public SettingValues with(String name, String rawValue) {
        Setting setting = setting(name);
        try {
            SettingValue.parse(setting, rawValue);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "invalid value '" + rawValue + "' for setting '" + name + "': " + e.getMessage(), e);
        }
        Map<String, String> changed = new LinkedHashMap<>(explicit);
        changed.remove(name);
        changed.put(name, rawValue);
        Map<String, String> where = new LinkedHashMap<>(locations);
        where.remove(name);
        return new SettingValues(changed, where, conffile);
    }

    /** The effective value as text, for any type. */
    public String string(String name) {
        return raw(name);
    }

    /** An {@link SettingType#INT} or {@link SettingType#OCTAL_INT} setting. */
    public int integer(String name) {
        return switch (value(name)) {
            case SettingValue.Int(int value) -> value;
            default -> throw wrongType(name, "an integer");
        };
    }

    /** A {@link SettingType#BOOL} setting. */
    public boolean bool(String name) {
        return switch (value(name)) {
            case SettingValue.Flag(boolean value) -> value;
            default -> throw wrongType(name, "a boolean");
        };
    }

    /**
     * A {@link SettingType#TIME} setting, or an integer one measured in seconds or milliseconds.
     * {@link Duration#ZERO} means "disabled" for the timeouts that say so.
     */
    public Duration time(String name) {
        Setting setting = setting(name);
        return switch (value(name)) {
            case SettingValue.Time(Duration value) -> value;
            case SettingValue.Int(int value) when setting.unit().equals("s") -> Duration.ofSeconds(value);
            case SettingValue.Int(int value) when setting.unit().equals("ms") -> Duration.ofMillis(value);
            default -> throw wrongType(name, "a duration");
        };
    }

    /** A {@link SettingType#LIST} setting, items stripped, empty items dropped. */
    public List<String> list(String name) {
        return switch (value(name)) {
            case SettingValue.Items(List<String> items) -> items;
            default -> throw wrongType(name, "a list");
        };
    }

    public PoolMode poolMode() {
        return PoolMode.parse(choice("pool_mode"));
    }

    public AuthType authType() {
        return AuthType.parse(choice("auth_type"));
    }

    /** Only the settings the file set, name to raw value, in file order. */
    public Map<String, String> explicit() {
        return explicit;
    }

    /**
     * The effective raw value: as the file wrote it, else the table's default. {@code conffile}
     * falls back to the file that was loaded, as in PgBouncer's SHOW CONFIG.
     */
    public String raw(String name) {
        Setting setting = setting(name);
        String value = explicit.get(name);
        if (value != null) {
            return value;
        }
        if (name.equals("conffile") && !conffile.isEmpty()) {
            return conffile;
        }
        return setting.defaultValue();
    }

    /** Where the file set this setting ("file:line"); empty when it did not. */
    public Optional<String> location(String name) {
        setting(name);
        return Optional.ofNullable(locations.get(name));
    }

    /** Whether the effective value differs from the table's default, compared by meaning. */
    public boolean isDefault(String name) {
        return value(name).equals(SettingValue.parseDefault(setting(name)));
    }

    private String choice(String name) {
        return switch (value(name)) {
            case SettingValue.Choice(String value) -> value;
            default -> throw wrongType(name, "a choice");
        };
    }

    private SettingValue value(String name) {
        setting(name);
        return values.get(name);
    }

    private static Setting setting(String name) {
        return Settings.byName(name).orElseThrow(() -> new IllegalArgumentException("unknown setting '" + name + "'"));
    }

    private static IllegalArgumentException wrongType(String name, String wanted) {
        return new IllegalArgumentException("setting '" + name + "' is of type "
                + setting(name).type() + ", not " + wanted);
    }

    @Override
    public String toString() {
        return "SettingValues" + explicit.keySet();
    }
}
