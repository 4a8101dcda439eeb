package io.pgloom.config;

import java.util.List;
import java.util.Objects;

/**
 * One row of the settings table that the parser, {@code pgloom check}, {@code SHOW CONFIG},
 * {@code SET} and the README all read.
 *
 * @param defaultValue exactly as PgBouncer 1.25's {@code SHOW CONFIG} prints it in its
 *                     {@code default} column
 * @param unit         {@code "s"}, {@code "ms"}, {@code "bytes"} or {@code ""}
 * @param reloadable   PgBouncer's {@code changeable} column: may change on RELOAD or SET
 * @param supported    whether pgloom implements it in this release
 * @param pgbouncer    a PgBouncer setting; false for pgloom's own additions (metrics_listen_port...)
 * @param description  one short line
 * @param noEffect     for a PgBouncer setting that pgloom accepts but that changes nothing in
 *                     pgloom, why (what it tunes that pgloom does not have, and what to use
 *                     instead); empty otherwise
 * @param section      the pgbouncer.ini section it is written in: {@value #MAIN} or {@value #FAILOVER}
 */
public record Setting(String name, SettingType type, String defaultValue, String unit, boolean reloadable,
                      boolean supported, boolean pgbouncer, String description, String noEffect, String section) {

    /** PgBouncer's section, which also holds pgloom's own process-wide settings. */
    public static final String MAIN = "pgbouncer";
    /** pgloom's section for multi-host entries: probes, promotion, replica lag. */
    public static final String FAILOVER = "failover";

    public Setting {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(defaultValue, "defaultValue");
        Objects.requireNonNull(unit, "unit");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(noEffect, "noEffect");
        Objects.requireNonNull(section, "section");
        if (supported && !noEffect.isEmpty()) {
            throw new IllegalArgumentException(name + ": a setting that works cannot also have no effect");
        }
    }

    /** Whether pgloom takes this setting (SET, RELOAD) without a "not supported yet": it works, or has no effect by design. */
    public boolean accepted() {
        return supported || !noEffect.isEmpty();
    }

    /** The accepted words of an {@link SettingType#ENUM} setting, in lower case; empty otherwise. */
    public List<String> choices() {
        return Settings.choicesOf(name);
    }
}
