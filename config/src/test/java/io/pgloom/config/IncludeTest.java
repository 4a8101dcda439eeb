package io.pgloom.config;

import static io.pgloom.config.TestFiles.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IncludeTest {

    @TempDir
    Path dir;

    @Test
    void includesAFileRelativeToTheWorkingDirectoryAsPgBouncerDoes() throws Exception {
        write(dir, "conf/pgbouncer.ini", "[pgbouncer]\nlisten_port = 7000\n%include conf/databases.ini\n");
        write(dir, "conf/databases.ini", "[databases]\napp = host=db1\n");
        PgloomConfig config = ConfigLoader.load(Path.of("conf/pgbouncer.ini"), dir);
        assertEquals(7000, config.settings().integer("listen_port"));
        DatabaseEntry app = config.database("app").orElseThrow();
        assertEquals(List.of("db1"), app.hosts());
        assertEquals(dir.resolve("conf/databases.ini") + ":2", app.location(), "file:line of the included file");
    }

    @Test
    void aPathRelativeToTheIncludingFilesDirectoryIsNotFoundAsInPgBouncer() {
        write(dir, "conf/pgbouncer.ini", "[pgbouncer]\n%include databases.ini\n");
        write(dir, "conf/databases.ini", "[databases]\napp = host=db1\n");
        var e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Path.of("conf/pgbouncer.ini"), dir));
        assertEquals("conf/pgbouncer.ini:2: cannot read included file 'databases.ini' (" + dir.resolve("databases.ini")
                + "): no such file", e.getMessage());
    }

    @Test
    void includesAnAbsolutePath() throws Exception {
        Path databases = write(dir, "elsewhere/databases.ini", "[databases]\napp =\n");
        write(dir, "pgbouncer.ini", "[pgbouncer]\n%include " + databases + "\n");
        PgloomConfig config = ConfigLoader.load(dir.resolve("pgbouncer.ini"), dir.resolve("unrelated"));
        assertTrue(config.database("app").isPresent());
    }

    @Test
    void nestedIncludesContinueTheCurrentSectionInBothDirections() throws Exception {
        write(dir, "pgbouncer.ini", "[databases]\nfirst =\n%include level1.ini\n"
                + "; still in the section level2.ini opened\nmax_client_conn = 50\n");
        write(dir, "level1.ini", "second =\n%include level2.ini\n");
        write(dir, "level2.ini", "third =\n[pgbouncer]\nlisten_port = 7001\n");
        PgloomConfig config = ConfigLoader.load(Path.of("pgbouncer.ini"), dir);
        assertEquals(List.of("first", "second", "third"), config.databases().stream().map(DatabaseEntry::name).toList());
        assertEquals(7001, config.settings().integer("listen_port"));
        assertEquals(50, config.settings().integer("max_client_conn"));
        assertEquals(Optional.of("pgbouncer.ini:5"), config.settings().location("max_client_conn"));
        assertEquals(Optional.of(dir.resolve("level2.ini") + ":3"), config.settings().location("listen_port"));
    }

    @Test
    void theSameFileMayBeIncludedTwiceSideBySide() throws Exception {
        write(dir, "pgbouncer.ini", "[pgbouncer]\n%include common.ini\n%include common.ini\n");
        write(dir, "common.ini", "max_client_conn = 50\n");
        assertEquals(50, ConfigLoader.load(Path.of("pgbouncer.ini"), dir).settings().integer("max_client_conn"));
    }

    @Test
    void refusesAnIncludeLoopAndNamesTheChain() {
        write(dir, "pgbouncer.ini", "[pgbouncer]\n%include a.ini\n");
        write(dir, "a.ini", "; a\n%include b.ini\n");
        write(dir, "b.ini", "%include a.ini\n");
        var e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Path.of("pgbouncer.ini"), dir));
        assertEquals(dir.resolve("b.ini") + ":1: %include loop: " + dir.resolve("pgbouncer.ini") + " -> "
                + dir.resolve("a.ini") + " -> " + dir.resolve("b.ini") + " -> " + dir.resolve("a.ini"), e.getMessage());
    }

    @Test
    void refusesAFileThatIncludesItself() {
        write(dir, "pgbouncer.ini", "[pgbouncer]\n%include pgbouncer.ini\n");
        var e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Path.of("pgbouncer.ini"), dir));
        assertTrue(e.getMessage().startsWith("pgbouncer.ini:2: %include loop: "), e.getMessage());
    }

    @Test
    void acceptsIncludesTenLevelsDeepLikePgBouncer() throws Exception {
        write(dir, "pgbouncer.ini", "[pgbouncer]\n%include 1.ini\n");
        for (int level = 1; level < 10; level++) {
            write(dir, level + ".ini", "%include " + (level + 1) + ".ini\n");
        }
        write(dir, "10.ini", "listen_port = 7010\n");
        assertEquals(7010, ConfigLoader.load(Path.of("pgbouncer.ini"), dir).settings().integer("listen_port"));
    }

    @Test
    void refusesIncludesElevenLevelsDeep() {
        write(dir, "pgbouncer.ini", "[pgbouncer]\n%include 1.ini\n");
        for (int level = 1; level <= 10; level++) {
            write(dir, level + ".ini", "%include " + (level + 1) + ".ini\n");
        }
        write(dir, "11.ini", "listen_port = 7011\n");
        var e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Path.of("pgbouncer.ini"), dir));
        assertEquals(dir.resolve("10.ini") + ":1: %include nested more than 10 levels deep", e.getMessage());
    }

    @Test
    void reportsErrorsInsideAnIncludedFileWithThatFilesLine() {
        write(dir, "pgbouncer.ini", "[pgbouncer]\n%include settings.ini\n");
        write(dir, "settings.ini", "; tuning\n\ndefault_pool_size = many\n");
        var e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Path.of("pgbouncer.ini"), dir));
        assertEquals(dir.resolve("settings.ini") + ":3: invalid value 'many' for setting 'default_pool_size':"
                + " expected an integer", e.getMessage());
    }

    @Test
    void refusesAnIncludeWithoutAFileName() {
        write(dir, "pgbouncer.ini", "[pgbouncer]\n%include   \n");
        var e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Path.of("pgbouncer.ini"), dir));
        assertEquals("pgbouncer.ini:2: %include needs a file name", e.getMessage());
    }

    @Test
    void includeMustBeFollowedByABlank() {
        write(dir, "pgbouncer.ini", "[pgbouncer]\n%includeother.ini\n");
        var e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Path.of("pgbouncer.ini"), dir));
        assertTrue(e.getMessage().startsWith("pgbouncer.ini:2: syntax error"), e.getMessage());
    }

    @Test
    void unsupportedSettingWarningsPointIntoTheIncludedFile() throws Exception {
        write(dir, "pgbouncer.ini", "[pgbouncer]\n%include tls.ini\n");
        write(dir, "tls.ini", "auth_ldap_options = base=dc=example\n");
        PgloomConfig config = ConfigLoader.load(Path.of("pgbouncer.ini"), dir);
        assertEquals(List.of(new ConfigWarning(dir.resolve("tls.ini") + ":1",
                "setting 'auth_ldap_options' is not supported by pgloom yet; ignored")), config.warnings());
    }
}
