package io.pgloom.config;

import java.util.Comparator;

/** Renders the settings table for the README, so the docs cannot drift from the code. */
public final class SettingsTable {

    private SettingsTable() {
    }

    /** A Markdown table, one row per setting, sorted by name. */
    public static String markdown() {
        StringBuilder out = new StringBuilder();
        out.append("| setting | default | reload | pgloom | description |\n");
        out.append("|---|---|---|---|---|\n");
        Settings.all().stream().sorted(Comparator.comparing(Setting::name)).forEach(setting -> out
                .append("| `").append(setting.name()).append("` | ")
                .append(defaultCell(setting)).append(" | ")
                .append(setting.reloadable() ? "yes" : "no").append(" | ")
                .append(status(setting)).append(" | ")
                .append(setting.section().equals(Setting.FAILOVER) ? "**[failover] section**: "
                        : setting.pgbouncer() ? "" : "**not a PgBouncer setting**: ")
                .append(escape(setting.description()))
                .append(setting.noEffect().isEmpty() ? "" : ". **No effect in pgloom**: " + escape(setting.noEffect()))
                .append(" |\n"));
        return out.toString();
    }

    private static String status(Setting setting) {
        if (!setting.pgbouncer()) {
            return "pgloom only";
        }
        if (setting.supported()) {
            return "yes";
        }
        return setting.noEffect().isEmpty() ? "not yet" : "no effect";
    }

    private static String defaultCell(Setting setting) {
        String value = setting.defaultValue();
        if (value.isEmpty()) {
            return "";
        }
        String unit = setting.unit().isEmpty() ? "" : " " + setting.unit();
        return "`" + escape(value) + "`" + unit;
    }

    private static String escape(String text) {
        return text.replace("|", "\\|");
    }
}
