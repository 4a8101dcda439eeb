package io.pgloom.config.hba;

import io.pgloom.config.AuthType;
import io.pgloom.config.ConfigException;
import io.pgloom.config.SettingValues;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/** Loads what {@code auth_hba_file} and {@code auth_ident_file} name, for one load of the config or one SET. */
public final class HbaSettings {

    private HbaSettings() {
    }

    /**
     * The rules these settings ask for: those of auth_hba_file, with the maps of auth_ident_file
     * that their map= options name.
     *
     * @param resolve how a path written in the config is found (relative to pgloom's working
     *                directory, as PgBouncer does)
     * @return null when auth_type is not hba or auth_hba_file is not set: then there is nothing to load
     * @throws ConfigException with file:line at the first line either file cannot take
     */
    public static HbaRules load(SettingValues settings, Function<String, Path> resolve) throws ConfigException {
        String hbaFile = settings.string("auth_hba_file");
        if (settings.authType() != AuthType.HBA || hbaFile.isEmpty()) {
            return null;
        }
        String identFile = settings.string("auth_ident_file");
        Map<String, IdentMap> maps = identFile.isEmpty() ? null : IdentFile.load(resolve.apply(identFile), identFile);
        return HbaFile.load(resolve.apply(hbaFile), hbaFile, maps, identFile.isEmpty() ? null : identFile);
    }

    /** True if going from {@code before} to {@code after} changes which rules {@link #load} would read. */
    public static boolean changed(SettingValues before, SettingValues after) {
        return !Objects.equals(before.raw("auth_type"), after.raw("auth_type"))
                || !Objects.equals(before.raw("auth_hba_file"), after.raw("auth_hba_file"))
                || !Objects.equals(before.raw("auth_ident_file"), after.raw("auth_ident_file"));
    }
}
