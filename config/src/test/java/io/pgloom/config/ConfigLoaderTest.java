package io.pgloom.config;

import static io.pgloom.config.TestFiles.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ConfigLoaderTest {

    @TempDir
    Path dir;

    private static final String REALISTIC = """
            ;; pgbouncer.ini of a team that runs three services
            [databases]
            ; the main application, with every database parameter spelled out
            app = host=db1.internal,db2.internal port=5433 dbname=app_prod user=app password='s3cr et' \
            auth_user=pgb_auth pool_size=40 min_pool_size=5 reserve_pool_size=3 pool_mode=transaction \
            max_db_connections=60 connect_query='SET search_path = app, public' client_encoding=UTF8 \
            datestyle=ISO timezone=UTC
            reports = host=10.0.0.7 dbname=warehouse pool_mode=session
            # the local socket, PgBouncer's default host
            local =
            * = host=10.0.0.9 port=5432

            [users]
            batch = pool_mode=session max_user_connections=10
            web = pool_mode=transaction

            [pgbouncer]
            logfile = /var/log/pgbouncer/pgbouncer.log
            pidfile = /var/run/pgbouncer/pgbouncer.pid
            listen_addr = 127.0.0.1, ::1
            listen_port = 6542
            auth_type = scram-sha-256
            auth_file = userlist.txt
            admin_users = postgres, ops
            stats_users = stats
            pool_mode = transaction
            server_reset_query = DISCARD ALL
            ignore_startup_parameters = extra_float_digits, options
            max_client_conn = 12000
            default_pool_size = 25
            min_pool_size = 2
            reserve_pool_size = 5
            reserve_pool_timeout = 2.5
            max_db_connections = 100
            server_lifetime = 1800
            server_idle_timeout = 300
            query_wait_timeout = 30
            client_login_timeout = 15
            tcp_keepalive = 1
            verbose = 1
            """;

    @Test
    void loadsARealisticPgBouncerIni() throws Exception {
        PgloomConfig config = load(REALISTIC);

        assertEquals(List.of("app", "reports", "local", "*"), config.databases().stream().map(DatabaseEntry::name).toList());
        DatabaseEntry app = config.database("app").orElseThrow();
        assertEquals(List.of("db1.internal", "db2.internal"), app.hosts());
        assertEquals(5433, app.port());
        assertEquals("app_prod", app.dbname());
        assertEquals("app", app.user());
        assertEquals("s3cr et", app.password());
        assertEquals("pgb_auth", app.authUser());
        assertEquals(OptionalInt.of(40), app.poolSize());
        assertEquals(OptionalInt.of(5), app.minPoolSize());
        assertEquals(OptionalInt.of(3), app.reservePool());
        assertEquals(Optional.of(PoolMode.TRANSACTION), app.poolMode());
        assertEquals(OptionalInt.of(60), app.maxDbConnections());
        assertEquals("SET search_path = app, public", app.connectQuery());
        assertEquals("UTF8", app.clientEncoding());
        assertEquals("ISO", app.datestyle());
        assertEquals("UTC", app.timezone());
        assertEquals("pgbouncer.ini:4", app.location());
        assertEquals(15, app.raw().size());

        DatabaseEntry local = config.database("local").orElseThrow();
        assertEquals(List.of(), local.hosts());
        assertEquals(5432, local.port());
        assertEquals("local", local.serverDatabase());
        assertEquals(OptionalInt.empty(), local.poolSize());
        assertEquals(Optional.empty(), local.poolMode());

        assertEquals(List.of("batch", "web"), List.copyOf(config.users().keySet()));
        assertEquals(OptionalInt.of(10), config.users().get("batch").maxUserConnections());
        assertEquals(Optional.of(PoolMode.TRANSACTION), config.users().get("web").poolMode());
        assertEquals("pgbouncer.ini:11", config.users().get("batch").location());

        SettingValues settings = config.settings();
        assertEquals(List.of("127.0.0.1", "::1"), settings.list("listen_addr"));
        assertEquals(6542, settings.integer("listen_port"));
        assertEquals(AuthType.SCRAM_SHA_256, settings.authType());
        assertEquals(PoolMode.TRANSACTION, settings.poolMode());
        assertEquals(List.of("postgres", "ops"), settings.list("admin_users"));
        assertEquals(List.of("extra_float_digits", "options"), settings.list("ignore_startup_parameters"));
        assertEquals(12000, settings.integer("max_client_conn"));
        assertEquals(Duration.ofMillis(2500), settings.time("reserve_pool_timeout"));
        assertEquals(Duration.ofSeconds(1800), settings.time("server_lifetime"));
        assertEquals(1, settings.integer("verbose"));
        assertEquals(Optional.of("pgbouncer.ini:18"), settings.location("listen_port"));
        assertEquals(23, settings.explicit().size());
        assertEquals("/var/log/pgbouncer/pgbouncer.log", settings.explicit().get("logfile"));

        // Everything this file sets is supported now (admin_users, stats_users included): no warning.
        assertEquals(List.of(), config.warnings(), config.warnings().toString());
        assertEquals(Optional.of(dir.resolve("userlist.txt")), config.authFile());
    }

    @Test
    void fillsEverySettingTheFileLeavesOutFromTheTable() throws Exception {
        PgloomConfig config = load(REALISTIC);
        SettingValues settings = config.settings();
        assertEquals(Duration.ofSeconds(15), settings.time("server_connect_timeout"));
        assertEquals(Duration.ofSeconds(15), settings.time("server_login_retry"));
        assertEquals(Duration.ofSeconds(30), settings.time("server_check_delay"));
        assertEquals("<empty>", settings.string("server_check_query"));
        assertEquals(2147483647, settings.integer("max_packet_size"));
        assertEquals(128, settings.integer("listen_backlog"));
        assertEquals("pgbouncer", settings.string("job_name"));
        assertFalse(settings.bool("server_reset_query_always"));
        assertEquals(Duration.ZERO, settings.time("client_idle_timeout"));
        assertEquals(Duration.ZERO, settings.time("idle_transaction_timeout"));
        assertEquals(0, settings.integer("max_user_connections"));
        assertEquals(Optional.empty(), settings.location("server_check_delay"));
        assertEquals("pgbouncer.ini", settings.string("conffile"), "conffile shows the loaded file, as PgBouncer's does");
    }

    @Test
    void serverCheckSettingsAreSupportedAndAnEmptyQueryIsKeptApartFromTheDefault() throws Exception {
        PgloomConfig off = load("[pgbouncer]\nserver_check_query =\nserver_check_delay = 0.5\n");
        assertEquals(List.of(), off.warnings(), "both settings are supported: no warning");
        assertEquals("", off.settings().string("server_check_query"), "empty turns checks off, unlike the default <empty>");
        assertEquals(Duration.ofMillis(500), off.settings().time("server_check_delay"));
        PgloomConfig query = load("[pgbouncer]\nserver_check_query = select 1 ; not a comment\n");
        assertEquals("select 1 ; not a comment", query.settings().string("server_check_query"));
    }

    @Test
    void acceptsTheSmallestWellFormedFile() throws Exception {
        PgloomConfig config = ConfigLoader.load(write(dir, "pgbouncer.ini", "[pgbouncer]\n"), dir);
        assertEquals(List.of(), config.databases());
        assertEquals(Map.of(), config.users());
        assertEquals(List.of(), config.warnings());
        assertEquals(20, config.settings().integer("default_pool_size"));
        assertEquals("", config.settings().string("listen_addr"), "kept as read: only a Unix socket in PgBouncer");
        assertEquals(Optional.empty(), config.authFile());
    }

    @Test
    void refusesAFileWithoutAPgbouncerSection() {
        var e = assertThrows(ConfigException.class, () -> load("[databases]\napp = host=x\n"));
        assertEquals("pgbouncer.ini:2: no [pgbouncer] section; PgBouncer requires one", e.getMessage());
        assertEquals("pgbouncer.ini:2", e.location());
    }

    @Test
    void refusesAMissingFile() {
        var e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Path.of("absent.ini"), dir));
        assertEquals("absent.ini: no such file", e.getMessage());
    }

    @Test
    void refusesASettingOutsideAnySection() {
        var e = assertThrows(ConfigException.class, () -> load("listen_port = 1\n[pgbouncer]\n"));
        assertEquals("pgbouncer.ini:1: 'listen_port' is outside of any section", e.getMessage());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            default_pool_size = twenty   | invalid value 'twenty' for setting 'default_pool_size': expected an integer
            max_client_conn = 10k        | invalid value '10k' for setting 'max_client_conn': expected an integer
            default_pool_size =          | invalid value '' for setting 'default_pool_size': expected an integer
            tcp_keepalive = maybe        | invalid value 'maybe' for setting 'tcp_keepalive': expected a boolean (0 or 1, yes or no, on or off, true or false)
            query_timeout = 5s           | invalid value '5s' for setting 'query_timeout': expected a number of seconds (fractions allowed, no unit)
            server_lifetime = -1         | invalid value '-1' for setting 'server_lifetime': expected a number of seconds (fractions allowed, no unit)
            pool_mode = sessions         | invalid value 'sessions' for setting 'pool_mode': expected one of session, transaction, statement
            auth_type = password         | invalid value 'password' for setting 'auth_type': expected one of any, trust, plain, md5, cert, hba, ldap, pam, scram-sha-256, peer
            auth_type = ldap             | invalid value 'ldap' for setting 'auth_type': auth type 'ldap' is not supported by pgloom yet
            unix_socket_mode = 0789      | invalid value '0789' for setting 'unix_socket_mode': expected an integer (a leading 0 means octal, as in 0777)
            server_tls_sslmode = strict  | invalid value 'strict' for setting 'server_tls_sslmode': expected one of disable, allow, prefer, require, verify-ca, verify-full
            """)
    void refusesAValueOfTheWrongTypeWithFileAndLine(String line, String message) {
        var e = assertThrows(ConfigException.class, () -> load("[pgbouncer]\nlisten_port = 6432\n" + line + "\n"));
        assertEquals("pgbouncer.ini:3: " + message, e.getMessage());
        assertEquals("pgbouncer.ini:3", e.location());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            default_pool_size = 0        | default_pool_size
            max_client_conn = 0x10       | max_client_conn
            tcp_keepalive = no           | tcp_keepalive
            query_timeout = 0.5          | query_timeout
            pool_mode = Statement        | pool_mode
            auth_type = hba              | auth_type
            unix_socket_mode = 0700      | unix_socket_mode
            server_tls_sslmode = disable | server_tls_sslmode
            logfile =                    | logfile
            """)
    void acceptsTheSmallestWellFormedValueOfEachType(String line, String name) throws Exception {
        PgloomConfig config = load("[pgbouncer]\n" + line + "\n");
        assertTrue(config.settings().explicit().containsKey(name));
    }

    @Test
    void refusesAnUnknownSettingAsPgBouncerDoes() {
        var e = assertThrows(ConfigException.class, () -> load("[pgbouncer]\n\nfoo_bar = 1\n"));
        assertEquals("pgbouncer.ini:3: unknown setting 'foo_bar'", e.getMessage());
    }

    @Test
    void settingNamesAreCaseSensitiveAndTheErrorSaysSo() {
        var e = assertThrows(ConfigException.class, () -> load("[pgbouncer]\nPool_Mode = session\n"));
        assertEquals("pgbouncer.ini:2: unknown setting 'Pool_Mode'; did you mean 'pool_mode'? Setting names are"
                + " case-sensitive", e.getMessage());
    }

    @Test
    void warnsAboutAnUnsupportedSettingWithItsNameAndLine() throws Exception {
        PgloomConfig config = load("[pgbouncer]\nlisten_port = 6432\nuser = nobody\n"
                + "auth_ldap_options = host=ldap.example\n");
        assertEquals(List.of(
                new ConfigWarning("pgbouncer.ini:3", "setting 'user' is not supported by pgloom yet; ignored"),
                new ConfigWarning("pgbouncer.ini:4", "setting 'auth_ldap_options' is not supported by pgloom yet; ignored")),
                config.warnings());
        assertEquals("pgbouncer.ini:3: setting 'user' is not supported by pgloom yet; ignored",
                config.warnings().getFirst().toString());
        assertEquals("nobody", config.settings().string("user"), "kept as read, for SHOW CONFIG");
    }

    @Test
    void aSettingWithNoEffectInPgloomIsWarnedAboutWithTheReason() throws Exception {
        PgloomConfig config = load("[pgbouncer]\npkt_buf = 8192\ntcp_defer_accept = 1\ntcp_user_timeout = 1000\n"
                + "tcp_keepidle = 30\n");
        assertEquals(2, config.warnings().size(), config.warnings().toString());
        assertEquals("pgbouncer.ini:2: setting 'pkt_buf' has no effect in pgloom: it sizes PgBouncer's fixed I/O buffers;"
                + " pgloom's grow per connection as traffic needs (from 128 bytes for a client, from 8 KiB to 256 KiB for a"
                + " server)", config.warnings().get(0).toString());
        assertTrue(config.warnings().get(1).toString().startsWith("pgbouncer.ini:4: setting 'tcp_user_timeout' has no"
                + " effect in pgloom: the JDK cannot set TCP_USER_TIMEOUT"), config.warnings().toString());
        assertEquals(8192, config.settings().integer("pkt_buf"), "kept as read, for SHOW CONFIG");
    }

    @Test
    void anUnsupportedSettingLeftAtItsDefaultIsNotWarnedAbout() throws Exception {
        PgloomConfig config = load("[pgbouncer]\nserver_tls_sslmode = PREFER\nunix_socket_mode = 511\n"
                + "stats_period = 60\nlog_connections = yes\n");
        assertEquals(List.of(), config.warnings());
    }

    @Test
    void syslogIsWarnedAboutInItsOwnWordsAndSoAreItsFacilityAndIdent() throws Exception {
        PgloomConfig config = load("[pgbouncer]\nsyslog = 1\nsyslog_facility = local0\nsyslog_ident = pgbouncer\n");
        assertEquals(2, config.warnings().size(), config.warnings().toString());
        assertTrue(config.warnings().get(0).toString().startsWith("pgbouncer.ini:2: syslog = 1 is not supported; pgloom"
                + " logs to stderr and logfile"), config.warnings().toString());
        assertEquals("pgbouncer.ini:3: syslog_facility has no effect: pgloom does not log to syslog (syslog = 1 is not"
                + " supported)", config.warnings().get(1).toString());

        PgloomConfig off = load("[pgbouncer]\nsyslog = 0\nsyslog_ident = myapp\n");
        assertEquals(List.of(new ConfigWarning("pgbouncer.ini:3",
                "syslog_ident has no effect: pgloom does not log to syslog (syslog = 0)")), off.warnings());
        assertEquals(List.of(), load("[pgbouncer]\nsyslog = 0\nsyslog_facility = daemon\n").warnings());
    }

    @Test
    void warnsAboutAnUnknownSectionAndIgnoresIt() throws Exception {
        PgloomConfig config = load("[pgbouncer]\n[tuning]\nwhatever = 1\n[databases]\napp =\n");
        assertEquals(List.of(new ConfigWarning("pgbouncer.ini:2", "unknown section [tuning] ignored")), config.warnings());
        assertEquals(List.of("app"), config.databases().stream().map(DatabaseEntry::name).toList());
    }

    @Test
    void refusesASectionThatDiffersFromAKnownOneOnlyInCase() {
        var e = assertThrows(ConfigException.class, () -> load("[pgbouncer]\n[Databases]\napp =\n"));
        assertEquals("pgbouncer.ini:2: unknown section [Databases]; section names are case-sensitive: did you mean"
                + " [databases]?", e.getMessage());
    }

    @Test
    void reopeningPgbouncerResetsEarlierSettingsAsPgBouncerDoesAndWarns() throws Exception {
        PgloomConfig config = load("[pgbouncer]\nlisten_port = 7000\n[databases]\napp =\n[pgbouncer]\npool_mode = transaction\n");
        assertEquals(6432, config.settings().integer("listen_port"));
        assertEquals(PoolMode.TRANSACTION, config.settings().poolMode());
        assertEquals(Map.of("pool_mode", "transaction"), config.settings().explicit());
        assertEquals(List.of(new ConfigWarning("pgbouncer.ini:5", "[pgbouncer] opened again: as in PgBouncer, every"
                + " setting returns to its default here, discarding listen_port set earlier")), config.warnings());
    }

    @Test
    void aLaterValueOfTheSameSettingWins() throws Exception {
        PgloomConfig config = load("[pgbouncer]\nlisten_port = 7000\nlisten_port = 7001\n");
        assertEquals(7001, config.settings().integer("listen_port"));
        assertEquals(Optional.of("pgbouncer.ini:3"), config.settings().location("listen_port"));
    }

    @Test
    void commentsOnlyStartALine() throws Exception {
        PgloomConfig config = load("  ; comment\n# comment\n[pgbouncer] ; trailing comment\n"
                + "server_reset_query = DISCARD ALL; -- not a comment\n");
        assertEquals("DISCARD ALL; -- not a comment", config.settings().string("server_reset_query"));
        var e = assertThrows(ConfigException.class, () -> load("[pgbouncer]\ndefault_pool_size = 20 ; twenty\n"));
        assertEquals("pgbouncer.ini:2: invalid value '20 ; twenty' for setting 'default_pool_size': expected an integer",
                e.getMessage());
    }

    @Test
    void trimsBlanksAroundNamesAndValuesAndReadsWindowsLineEnds() throws Exception {
        PgloomConfig config = load("[pgbouncer]\r\n\t listen_port\t=\t7000  \r\n");
        assertEquals(7000, config.settings().integer("listen_port"));
    }

    @Test
    void refusesLinesThatAreNotNameEqualsValue() {
        assertEquals("pgbouncer.ini:2: syntax error: expected '=' after 'default' (names may contain only letters,"
                        + " digits and _ . - *, or be quoted)",
                assertThrows(ConfigException.class, () -> load("[pgbouncer]\ndefault pool size = 20\n")).getMessage());
        assertEquals("pgbouncer.ini:2: syntax error: expected 'name = value', '[section]', a comment or '%include file'",
                assertThrows(ConfigException.class, () -> load("[pgbouncer]\n= 20\n")).getMessage());
        assertEquals("pgbouncer.ini:1: syntax error: section header without a closing ']'",
                assertThrows(ConfigException.class, () -> load("[pgbouncer\n")).getMessage());
        assertEquals("pgbouncer.ini:1: syntax error: unexpected text after the section header: 'x = 1'",
                assertThrows(ConfigException.class, () -> load("[pgbouncer] x = 1\n")).getMessage());
    }

    @Test
    void refusesAFileThatIsNotUtf8WithTheLine() throws Exception {
        byte[] latin1 = "[pgbouncer]\nlogfile = caf\u00e9.log\n".getBytes(StandardCharsets.ISO_8859_1);
        Files.write(dir.resolve("pgbouncer.ini"), latin1);
        var e = assertThrows(ConfigException.class, () -> ConfigLoader.load(Path.of("pgbouncer.ini"), dir));
        assertEquals("pgbouncer.ini:2: not valid UTF-8", e.getMessage());
    }

    @Test
    void resolvesRelativePathsAgainstTheWorkingDirectoryAsPgBouncerDoes() throws Exception {
        Path etc = dir.resolve("etc");
        write(etc, "pgbouncer.ini", "[pgbouncer]\nauth_file = userlist.txt\n");
        PgloomConfig config = ConfigLoader.load(etc.resolve("pgbouncer.ini"), dir);
        assertEquals(Optional.of(dir.resolve("userlist.txt")), config.authFile());
        assertEquals(Path.of("/etc/pgbouncer/userlist.txt"), config.resolve("/etc/pgbouncer/userlist.txt"));
        assertEquals(dir.resolve("log/pgbouncer.log"), config.resolve("log/../log/pgbouncer.log"));
    }

    @Test
    void loadingWithoutAWorkingDirectoryUsesTheProcesssOwn() throws Exception {
        Path file = write(dir, "pgbouncer.ini", "[pgbouncer]\nauth_file = userlist.txt\n");
        PgloomConfig config = ConfigLoader.load(file);
        assertEquals(Path.of("").toAbsolutePath().resolve("userlist.txt"), config.authFile().orElseThrow());
        assertEquals(file, config.file());
    }

    @Test
    void aSnapshotCanBeBuiltWithoutTheLoader() {
        DatabaseEntry app = new DatabaseEntry("app", List.of("db1"), 5432, null, null, null, OptionalInt.empty(),
                OptionalInt.empty(), OptionalInt.empty(), Optional.empty(), OptionalInt.empty(), null, null, null, null,
                null, Map.of(), "test:1");
        PgloomConfig config = new PgloomConfig(Path.of("pgbouncer.ini"), SettingValues.defaults(), List.of(app),
                Map.of(), List.of());
        assertEquals(Optional.of(app), config.database("app"));
        assertEquals(List.of(), config.peers());
        assertEquals(Path.of("").toAbsolutePath().resolve("x"), config.resolve("x"));
    }

    private PgloomConfig load(String text) throws ConfigException {
        write(dir, "pgbouncer.ini", text);
        return ConfigLoader.load(Path.of("pgbouncer.ini"), dir);
    }
}
