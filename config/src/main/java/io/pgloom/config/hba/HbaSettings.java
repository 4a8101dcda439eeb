package io.pgloom.config.hba;

import io.pgloom.config.ConfigException;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Function;

/** Loads what {@code auth_hba_file} and {@code auth_ident_file} name, for one load of the config. */
public final class HbaSettings {

    private HbaSettings() {
    }

    /**
     * @param hbaFile   auth_hba_file as written; must not be empty
     * @param identFile auth_ident_file as written; empty when unset
     * @param resolve   how a path written in the config is found (relative to pgloom's working
     *                  directory, as PgBouncer does)
     * @return the rules, with the ident maps their map= options name
     * @throws ConfigException with file:line at the first line either file cannot take
     */
    public static HbaRules load(String hbaFile, String identFile, Function<String, Path> resolve) throws ConfigException {
        Map<String, IdentMap> maps = identFile.isEmpty() ? null : IdentFile.load(resolve.apply(identFile), identFile);
        return HbaFile.load(resolve.apply(hbaFile), hbaFile, maps, identFile.isEmpty() ? null : identFile);
    }
}
