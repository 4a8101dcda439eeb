package io.pgloom.config.hba;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.config.ConfigException;
import io.pgloom.config.ConfigLoader;
import io.pgloom.config.ConfigWarning;
import io.pgloom.config.PgloomConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** auth_type = hba through the config loader: the files load with it, and a broken one refuses the config. */
class HbaConfigLoadTest {

    private static PgloomConfig load(Path dir, String settings) throws ConfigException {
        Path ini = dir.resolve("pgbouncer.ini");
        try {
            Files.writeString(ini, "[pgbouncer]\n" + settings);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return ConfigLoader.load(ini, dir);
    }

    @Test
    void authTypeHbaLoadsTheRulesAndMapsRelativeToTheWorkingDirectory(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("etc"));
        Files.writeString(dir.resolve("etc/ident.conf"), "ops ana reader\n");
        Files.writeString(dir.resolve("etc/hba.conf"), "local all all peer map=ops\nhost all all all md5\n");
        PgloomConfig config = load(dir, "auth_type = hba\nauth_hba_file = etc/hba.conf\nauth_ident_file = etc/ident.conf\n");
        HbaRules rules = config.hbaRules().orElseThrow();
        assertEquals(2, rules.rules().size());
        assertEquals("etc/hba.conf:1", rules.rules().getFirst().location());
        assertTrue(rules.rules().getFirst().map().permits("ana", "reader"));
        assertEquals(List.of(), config.warnings(), "auth_hba_file and auth_ident_file are supported now");
        assertEquals(rules, config.withSettings(config.settings().with("verbose", "1")).hba(), "SET keeps the rules");
    }

    @Test
    void otherAuthTypesLeaveTheFilesAloneAsPgBouncerDoes(@TempDir Path dir) throws Exception {
        PgloomConfig config = load(dir, "auth_type = md5\nauth_hba_file = missing.conf\n");
        assertNull(config.hba());
    }

    @Test
    void aBrokenHbaFileRefusesTheConfigWithItsFileAndLine(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("hba.conf"), "local all all trust\nhost all all 10.0.0.0/99 trust\n");
        ConfigException e = assertThrows(ConfigException.class,
                () -> load(dir, "auth_type = hba\nauth_hba_file = hba.conf\n"));
        assertEquals("hba.conf:2: invalid prefix length /99: expected 0 to 32", e.getMessage());
        ConfigException missing = assertThrows(ConfigException.class,
                () -> load(dir, "auth_type = hba\nauth_hba_file = nowhere.conf\n"));
        assertEquals("nowhere.conf: no such file", missing.getMessage());
    }

    @Test
    void aBrokenIdentFileRefusesTheConfigToo(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("hba.conf"), "local all all peer\n");
        Files.writeString(dir.resolve("ident.conf"), "# maps\nops ana\n");
        ConfigException e = assertThrows(ConfigException.class,
                () -> load(dir, "auth_type = hba\nauth_hba_file = hba.conf\nauth_ident_file = ident.conf\n"));
        assertEquals("ident.conf:2: expected 3 fields (MAPNAME SYSTEM-USERNAME PG-USERNAME), found 2", e.getMessage());
    }

    @Test
    void setAuthTypeHbaReadsTheRulesAndABrokenFileRefusesTheSet(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("hba.conf"), "host all all all trust\n");
        PgloomConfig md5 = load(dir, "auth_type = md5\nauth_hba_file = hba.conf\n");
        assertNull(md5.hba());
        PgloomConfig hba = md5.withSettings(md5.settings().with("auth_type", "hba"));
        assertEquals("hba.conf:1", hba.hba().rules().getFirst().location());
        assertNull(hba.withSettings(hba.settings().with("auth_type", "trust")).hba());

        Files.writeString(dir.resolve("broken.conf"), "host all all all trust\nlocal all\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> hba.withSettings(hba.settings().with("auth_hba_file", "broken.conf")));
        assertEquals("broken.conf:2: expected local DATABASE USER METHOD [OPTIONS]", e.getMessage());
    }

    @Test
    void authTypeHbaWithoutAFileIsWarnedAbout(@TempDir Path dir) throws Exception {
        PgloomConfig config = load(dir, "listen_port = 6432\nauth_type = hba\n");
        assertNull(config.hba());
        assertEquals(List.of(new ConfigWarning(dir.resolve("pgbouncer.ini") + ":3",
                "auth_type = hba without auth_hba_file: every login is refused")), config.warnings());
    }
}
