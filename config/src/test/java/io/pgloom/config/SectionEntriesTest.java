package io.pgloom.config;

import static io.pgloom.config.TestFiles.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

/** The [databases], [users] and [peers] sections and their connect strings. */
class SectionEntriesTest {

    @TempDir
    Path dir;

    @Test
    void readsQuotedValuesWithDoubledQuotesAndBlanks() throws Exception {
        DatabaseEntry app = database("app = password='it''s a secret'  user=bob connect_query='SELECT 1'");
        assertEquals("it's a secret", app.password());
        assertEquals("bob", app.user());
        assertEquals("SELECT 1", app.connectQuery());
        assertEquals(Map.of("password", "it's a secret", "user", "bob", "connect_query", "SELECT 1"), app.raw());
    }

    @Test
    void allowsBlanksAroundTheEqualsSign() throws Exception {
        DatabaseEntry app = database("app = host = db1   port =5433 dbname= x");
        assertEquals(List.of("db1"), app.hosts());
        assertEquals(5433, app.port());
        assertEquals("x", app.dbname());
    }

    @Test
    void takesBackslashesLiterallyAsPgBouncerDoes() throws Exception {
        assertEquals("a\\'b", database("app = password='a\\''b'").password());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            app = password='open             | database 'app': the quoted value of 'password' has no closing quote
            app = password=                  | database 'app': empty value for 'password'
            app = password=''                | database 'app': empty value for 'password'
            app = host                       | database 'app': expected '=' after 'host'
            app = =x                         | database 'app': a parameter name is missing before '='
            app = password='a'b              | database 'app': expected a blank after the quoted value of 'password'
            """)
    void refusesMalformedConnectStringsWithFileAndLine(String line, String message) {
        var e = assertThrows(ConfigException.class, () -> load("[databases]\n" + line + "\n[pgbouncer]\n"));
        assertEquals("pgbouncer.ini:2: " + message, e.getMessage());
    }

    @Test
    void acceptsTheSmallestWellFormedConnectStrings() throws Exception {
        assertEquals(Map.of(), database("app =").raw());
        assertEquals("x", database("app = password='x'").password());
        assertEquals("x", database("app = password=x").password());
    }

    @Test
    void refusesAnUnknownDatabaseParameterAsPgBouncerDoes() {
        var e = assertThrows(ConfigException.class, () -> load("[databases]\napp = host=db1 sslmode=require\n[pgbouncer]\n"));
        assertEquals("pgbouncer.ini:2: database 'app': unknown parameter 'sslmode'; known parameters: application_name,"
                + " auth_dbname, auth_query, auth_user, client_encoding, connect_query, datestyle, dbname, host,"
                + " load_balance_hosts, max_db_client_connections, max_db_connections, min_pool_size, password, pool_mode,"
                + " pool_size, port, reserve_pool, reserve_pool_size, server_lifetime, target_session_attrs, timezone, user",
                e.getMessage());
    }

    @Test
    void parameterNamesAreCaseSensitive() {
        var e = assertThrows(ConfigException.class, () -> load("[databases]\napp = Host=db1\n[pgbouncer]\n"));
        assertEquals("pgbouncer.ini:2: database 'app': unknown parameter 'Host'; did you mean 'host'? Parameter names"
                + " are case-sensitive", e.getMessage());
    }

    @Test
    void acceptsEveryParameterPgBouncer125KnowsWithoutWarnings() throws Exception {
        PgloomConfig config = load("[pgbouncer]\n[databases]\napp = host=db1 application_name=app auth_dbname=authdb"
                + " auth_query='SELECT usename, passwd FROM pg_shadow WHERE usename=$1' load_balance_hosts=disable"
                + " max_db_client_connections=100 server_lifetime=600\n");
        assertEquals(6, config.database("app").orElseThrow().raw().size() - 1);
        DatabaseEntry app = config.database("app").orElseThrow();
        assertEquals(OptionalInt.of(100), app.maxDbClientConnections());
        assertEquals(Optional.of(Duration.ofSeconds(600)), app.serverLifetime());
        assertEquals("app", app.applicationName());
        assertEquals(LoadBalanceHosts.DISABLE, app.loadBalanceHosts());
        assertEquals(List.of(), config.warnings());
    }

    @Test
    void serverLifetimeOfZeroOrUnsetMeansTheGlobalSetting() throws Exception {
        assertEquals(Optional.empty(), database("app = host=db1 server_lifetime=0").serverLifetime());
        assertEquals(Optional.empty(), database("app = host=db1").serverLifetime());
        assertEquals(Optional.of(Duration.ofMillis(2500)), database("app = host=db1 server_lifetime=2.5").serverLifetime());
        assertEquals(null, database("app = host=db1").applicationName());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            port=0                      | invalid value '0' for 'port': expected a port number from 1 to 65535, or a comma-separated list of them, one per host
            port=65536                  | invalid value '65536' for 'port': expected a port number from 1 to 65535, or a comma-separated list of them, one per host
            port=5432x                  | invalid value '5432x' for 'port': expected a port number from 1 to 65535, or a comma-separated list of them, one per host
            port=5432,,5433             | invalid value '5432,,5433' for 'port': expected a port number from 1 to 65535, or a comma-separated list of them, one per host
            host=a,b port=5432,5433,5434 | invalid value '5432,5433,5434' for 'port': 3 ports for 2 hosts: give one port for all hosts, or one per host
            target_session_attrs=master | invalid value 'master' for 'target_session_attrs': expected one of any, read-write, primary, read-only, standby, prefer-standby
            pool_size=ten               | invalid value 'ten' for 'pool_size': expected an integer
            max_db_connections=1.5      | invalid value '1.5' for 'max_db_connections': expected an integer
            pool_mode=batch             | invalid value 'batch' for 'pool_mode': expected one of session, transaction, statement
            load_balance_hosts=random   | invalid value 'random' for 'load_balance_hosts': expected one of round-robin, disable
            server_lifetime=1h          | invalid value '1h' for 'server_lifetime': expected a number of seconds (fractions allowed, no unit)
            """)
    void refusesDatabaseParametersOfTheWrongType(String param, String message) {
        var e = assertThrows(ConfigException.class, () -> load("[databases]\napp = " + param + "\n[pgbouncer]\n"));
        assertEquals("pgbouncer.ini:2: database 'app': " + message, e.getMessage());
    }

    @Test
    void acceptsTheSmallestWellFormedDatabaseNumbers() throws Exception {
        DatabaseEntry app = database("app = port=1 pool_size=0 min_pool_size=0 reserve_pool=0 max_db_connections=1 pool_mode=SESSION");
        assertEquals(1, app.port());
        assertEquals(OptionalInt.of(0), app.poolSize());
        assertEquals(OptionalInt.of(0), app.minPoolSize());
        assertEquals(OptionalInt.of(0), app.reservePool());
        assertEquals(OptionalInt.of(1), app.maxDbConnections());
        assertEquals(Optional.of(PoolMode.SESSION), app.poolMode());
    }

    @Test
    void valuesPgBouncerTakesAsNotSetComeBackEmpty() throws Exception {
        DatabaseEntry app = database("app = pool_size=-1 min_pool_size=-1 reserve_pool_size=-1 max_db_connections=0");
        assertEquals(OptionalInt.empty(), app.poolSize());
        assertEquals(OptionalInt.empty(), app.minPoolSize());
        assertEquals(OptionalInt.empty(), app.reservePool());
        assertEquals(OptionalInt.empty(), app.maxDbConnections(), "0 means: use the global max_db_connections");
    }

    @Test
    void reservePoolSizeAndItsOldSpellingLastOneWins() throws Exception {
        assertEquals(OptionalInt.of(7), database("app = reserve_pool_size=3 reserve_pool=7").reservePool());
        assertEquals(OptionalInt.of(3), database("app = reserve_pool=7 reserve_pool_size=3").reservePool());
    }

    @Test
    void aRepeatedParameterKeepsItsLastValue() throws Exception {
        assertEquals("b", database("app = host=a host=b").hosts().getFirst());
    }

    @Test
    void refusesTheReservedNamePgbouncer() {
        var e = assertThrows(ConfigException.class, () -> load("[databases]\npgbouncer = host=x\n[pgbouncer]\n"));
        assertEquals("pgbouncer.ini:2: database 'pgbouncer': the name is reserved for the admin console", e.getMessage());
    }

    @Test
    void acceptsNamesWithDotsDashesAndQuotes() throws Exception {
        PgloomConfig config = load("[pgbouncer]\n[databases]\nmy-app.v2 =\n'my db' = dbname=x\n\"say \"\"hi\"\"\" =\n");
        assertEquals(List.of("my-app.v2", "my db", "say \"hi\""), config.databases().stream().map(DatabaseEntry::name).toList());
    }

    @Test
    void theFallbackEntryServesAnyOtherNameAsItsOwnDatabase() throws Exception {
        PgloomConfig config = load("[pgbouncer]\n[databases]\napp = host=db1\n* = host=db9 port=5439 pool_size=4\n");
        DatabaseEntry other = config.database("analytics").orElseThrow();
        assertEquals("analytics", other.name());
        assertEquals("analytics", other.dbname());
        assertEquals(List.of("db9"), other.hosts());
        assertEquals(5439, other.port());
        assertEquals(OptionalInt.of(4), other.poolSize());
        assertEquals("pgbouncer.ini:4", other.location());
        assertEquals(List.of("db1"), config.database("app").orElseThrow().hosts(), "an exact name wins");
        assertTrue(config.databases().getLast().isFallback());
    }

    @Test
    void aFallbackWithADbnameSendsEveryNameThere() throws Exception {
        PgloomConfig config = load("[pgbouncer]\n[databases]\n* = host=db9 dbname=shared\n");
        assertEquals("shared", config.database("anything").orElseThrow().dbname());
        assertEquals("anything", config.database("anything").orElseThrow().name());
    }

    @Test
    void withoutAFallbackAnUnknownNameFindsNothing() throws Exception {
        PgloomConfig config = load("[pgbouncer]\n[databases]\napp =\n");
        assertEquals(Optional.empty(), config.database("other"));
        assertEquals(Optional.empty(), config.database("App"), "database names are case-sensitive");
    }

    @Test
    void aRepeatedDatabaseReplacesTheEarlierOneInItsPlace() throws Exception {
        PgloomConfig config = load("[pgbouncer]\n[databases]\na = host=one\nb =\na = host=two\n");
        assertEquals(List.of("a", "b"), config.databases().stream().map(DatabaseEntry::name).toList());
        assertEquals(List.of("two"), config.database("a").orElseThrow().hosts());
        assertEquals("pgbouncer.ini:5", config.database("a").orElseThrow().location());
    }

    @Test
    void keepsPasswordsOutOfToString() throws Exception {
        String shown = database("app = user=bob password=hunter2").toString();
        assertFalse(shown.contains("hunter2"), shown);
        assertTrue(shown.contains("bob"), shown);
    }

    @Test
    void readsUsers() throws Exception {
        PgloomConfig config = load("[pgbouncer]\n[users]\nbatch = pool_mode=session max_user_connections=10\n"
                + "web = max_user_connections=0\n");
        UserEntry batch = config.users().get("batch");
        assertEquals(Optional.of(PoolMode.SESSION), batch.poolMode());
        assertEquals(OptionalInt.of(10), batch.maxUserConnections());
        assertEquals(Map.of("pool_mode", "session", "max_user_connections", "10"), batch.raw());
        assertEquals(OptionalInt.empty(), config.users().get("web").maxUserConnections(), "0 means the global limit");
        assertEquals(List.of(), config.warnings());
    }

    @Test
    void refusesAnUnknownUserParameter() {
        var e = assertThrows(ConfigException.class, () -> load("[pgbouncer]\n[users]\nbob = pool_size=5 foo=1\n"));
        assertEquals("pgbouncer.ini:3: user 'bob': unknown parameter 'foo'; known parameters: client_idle_timeout,"
                + " idle_transaction_timeout, max_user_client_connections, max_user_connections, pool_mode, pool_size,"
                + " query_timeout, reserve_pool_size, transaction_timeout", e.getMessage());
    }

    @Test
    void refusesAUserParameterOfTheWrongType() {
        var e = assertThrows(ConfigException.class, () -> load("[pgbouncer]\n[users]\nbob = query_timeout=soon\n"));
        assertEquals("pgbouncer.ini:3: user 'bob': invalid value 'soon' for 'query_timeout': expected a number of seconds"
                + " (fractions allowed, no unit)", e.getMessage());
    }

    @Test
    void readsEveryUserParameterOfPgBouncer125WithoutWarnings() throws Exception {
        PgloomConfig config = load("[pgbouncer]\n[users]\nbob = pool_size=5 reserve_pool_size=1 query_timeout=30"
                + " idle_transaction_timeout=10 transaction_timeout=60 client_idle_timeout=300"
                + " max_user_client_connections=50\n");
        assertEquals(List.of(), config.warnings());
        UserEntry bob = config.users().get("bob");
        assertEquals(OptionalInt.of(50), bob.maxUserClientConnections());
        assertEquals(OptionalInt.of(5), bob.poolSize());
        assertEquals(OptionalInt.of(1), bob.reservePoolSize());
        assertEquals(Optional.of(Duration.ofSeconds(30)), bob.timeout("query_timeout"));
        assertEquals(Optional.of(Duration.ofSeconds(10)), bob.timeout("idle_transaction_timeout"));
        assertEquals(Optional.of(Duration.ofSeconds(60)), bob.timeout("transaction_timeout"));
        assertEquals(Optional.of(Duration.ofSeconds(300)), bob.timeout("client_idle_timeout"));
    }

    @Test
    void userSizesAndTimeoutsLeftOutOrZeroMeanTheOtherSettingsApply() throws Exception {
        PgloomConfig config = load("[pgbouncer]\n[users]\nbob = pool_size=-1 query_timeout=0\nann = pool_size=0\n");
        UserEntry bob = config.users().get("bob");
        assertEquals(OptionalInt.empty(), bob.poolSize(), "negative: the database's or default_pool_size");
        assertEquals(OptionalInt.empty(), bob.reservePoolSize());
        assertEquals(Optional.empty(), bob.timeout("query_timeout"), "0: the [pgbouncer] query_timeout");
        assertEquals(Optional.empty(), bob.timeout("client_idle_timeout"));
        assertEquals(OptionalInt.of(0), config.users().get("ann").poolSize(), "0 is a size, as for a database");
        assertThrows(IllegalArgumentException.class, () -> bob.timeout("server_lifetime"));
    }

    @Test
    void readsPeersAndPeerIdWithoutWarnings() throws Exception {
        PgloomConfig config = load("[pgbouncer]\npeer_id = 1\n[peers]\n1 = host=/tmp/pgbouncer1\n"
                + "2 = host=10.0.0.2 port=6433 pool_size=8\n");
        assertEquals(2, config.peers().size());
        PeerEntry second = config.peers().get(1);
        assertEquals(2, second.id());
        assertEquals("10.0.0.2", second.host());
        assertEquals(6433, second.port());
        assertEquals(OptionalInt.of(8), second.poolSize());
        assertEquals(6432, config.peers().getFirst().port());
        assertEquals(1, config.settings().integer("peer_id"));
        assertEquals(List.of(), config.warnings());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            one = host=a      | peer 'one': peer ids must be numbers from 1 to 65535
            0 = host=a        | peer '0': peer ids must be numbers from 1 to 65535
            1 = port=6432     | peer '1': no host
            1 = host=a user=x | peer '1': unknown parameter 'user'; known parameters: host, pool_size, port
            """)
    void refusesPeersPgBouncerRefuses(String line, String message) {
        var e = assertThrows(ConfigException.class, () -> load("[pgbouncer]\n[peers]\n" + line + "\n"));
        assertEquals("pgbouncer.ini:3: " + message, e.getMessage());
    }

    private DatabaseEntry database(String line) throws ConfigException {
        PgloomConfig config = load("[pgbouncer]\n[databases]\n" + line + "\n");
        return config.databases().getFirst();
    }

    @Test
    void theAdminConsoleCannotBeTheGlobalAuthDbname() {
        var e = assertThrows(ConfigException.class, () -> load("[databases]\n* = host=db1\n[pgbouncer]\nauth_dbname = pgbouncer\n"));
        assertEquals("pgbouncer.ini:4: cannot use the reserved \"pgbouncer\" database as an auth_dbname", e.getMessage());
    }

    private PgloomConfig load(String text) throws ConfigException {
        write(dir, "pgbouncer.ini", text);
        return ConfigLoader.load(Path.of("pgbouncer.ini"), dir);
    }
}
