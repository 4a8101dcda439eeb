package io.pgloom.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class SettingValuesTest {

    @Test
    void defaultsComeFromTheTable() {
        SettingValues values = SettingValues.defaults();
        assertEquals(20, values.integer("default_pool_size"));
        assertEquals(6432, values.integer("listen_port"));
        assertEquals(Duration.ofSeconds(120), values.time("query_wait_timeout"));
        assertEquals(Duration.ZERO, values.time("query_timeout"));
        assertEquals(PoolMode.SESSION, values.poolMode());
        assertEquals(AuthType.MD5, values.authType());
        assertTrue(values.bool("tcp_keepalive"));
        assertFalse(values.bool("server_reset_query_always"));
        assertEquals(List.of("IntervalStyle"), values.list("track_extra_parameters"));
        assertEquals(List.of(), values.list("listen_addr"));
        assertEquals("", values.string("listen_addr"));
        assertEquals("DISCARD ALL", values.string("server_reset_query"));
        assertEquals(0, values.integer("verbose"), "PgBouncer's verbose has no default and reads as 0");
        assertEquals(511, values.integer("unix_socket_mode"));
        assertEquals(Map.of(), values.explicit());
    }

    @ParameterizedTest
    @CsvSource({"20,20", "+20,20", "-1,-1", "010,8", "0x1F,31", "0X10,16", "0,0", "2147483647,2147483647",
            "-2147483648,-2147483648"})
    void integersReadAsCsStrtolDoes(String raw, int expected) {
        assertEquals(expected, SettingValues.defaults().with("default_pool_size", raw).integer("default_pool_size"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "abc", "20s", "1.5", "08", "0x", "2147483648", "-2147483649", "20 30", "٣"})
    void refusesWhatIsNotAnInteger(String raw) {
        var e = assertThrows(IllegalArgumentException.class, () -> SettingValues.defaults().with("default_pool_size", raw));
        assertTrue(e.getMessage().startsWith("invalid value '" + raw + "' for setting 'default_pool_size': expected an integer"),
                e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"1,true", "0,false", "2,true", "yes,true", "No,false", "on,true", "OFF,false", "true,true",
            "False,false", "0x0,false"})
    void booleansTakeNumbersAndWords(String raw, boolean expected) {
        assertEquals(expected, SettingValues.defaults().with("server_reset_query_always", raw).bool("server_reset_query_always"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "maybe", "y", "enabled"})
    void refusesWhatIsNotABoolean(String raw) {
        var e = assertThrows(IllegalArgumentException.class, () -> SettingValues.defaults().with("tcp_keepalive", raw));
        assertTrue(e.getMessage().endsWith("expected a boolean (0 or 1, yes or no, on or off, true or false)"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({"5,5000000", "0.5,500000", ".25,250000", "1.,1000000", "1e2,100000000", "0,0", "0.0000019,1",
            "+3,3000000"})
    void timesAreSecondsKeptToTheMicrosecond(String raw, long micros) {
        Duration time = SettingValues.defaults().with("query_timeout", raw).time("query_timeout");
        assertEquals(Duration.ofNanos(micros * 1000), time);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "-1", "5s", "1min", "abc", "1,5", "inf", "nan", "1e99999", "1e999"})
    void refusesTimesPgBouncerRefuses(String raw) {
        var e = assertThrows(IllegalArgumentException.class, () -> SettingValues.defaults().with("query_timeout", raw));
        assertTrue(e.getMessage().contains("expected a number of seconds"), e.getMessage());
    }

    @Test
    void enumsIgnoreCaseAsPgBouncersLookupDoes() {
        assertEquals(PoolMode.TRANSACTION, SettingValues.defaults().with("pool_mode", "TRANSACTION").poolMode());
        assertEquals(AuthType.SCRAM_SHA_256, SettingValues.defaults().with("auth_type", "SCRAM-sha-256").authType());
        assertEquals("verify-full", SettingValues.defaults().with("server_tls_sslmode", "verify-full")
                .string("server_tls_sslmode"));
    }

    @Test
    void setRefusesLdapAsTheLoaderDoes() {
        var e = assertThrows(IllegalArgumentException.class, () -> SettingValues.defaults().with("auth_type", "LDAP"));
        assertEquals("invalid value 'LDAP' for setting 'auth_type': auth type 'ldap' is not supported by pgloom yet",
                e.getMessage());
    }

    @Test
    void refusesAnEnumWordOutsideItsChoices() {
        var e = assertThrows(IllegalArgumentException.class, () -> SettingValues.defaults().with("pool_mode", "sessions"));
        assertEquals("invalid value 'sessions' for setting 'pool_mode': expected one of session, transaction, statement",
                e.getMessage());
    }

    @Test
    void listsDropBlanksAndEmptyItems() {
        assertEquals(List.of("postgres", "admin"), SettingValues.defaults().with("admin_users", " postgres , ,admin,")
                .list("admin_users"));
    }

    @Test
    void integerSettingsInSecondsAlsoReadAsTimes() {
        SettingValues values = SettingValues.defaults().with("stats_period", "30").with("tcp_user_timeout", "1500");
        assertEquals(Duration.ofSeconds(30), values.time("stats_period"));
        assertEquals(Duration.ofMillis(1500), values.time("tcp_user_timeout"));
        assertThrows(IllegalArgumentException.class, () -> values.time("default_pool_size"));
    }

    @Test
    void accessorsRefuseTheWrongTypeAndUnknownNames() {
        SettingValues values = SettingValues.defaults();
        assertThrows(IllegalArgumentException.class, () -> values.integer("pool_mode"));
        assertThrows(IllegalArgumentException.class, () -> values.bool("default_pool_size"));
        assertThrows(IllegalArgumentException.class, () -> values.list("logfile"));
        assertThrows(IllegalArgumentException.class, () -> values.raw("no_such_setting"));
        assertThrows(IllegalArgumentException.class, () -> values.with("no_such_setting", "1"));
    }

    @Test
    void withKeepsTheOriginalUntouched() {
        SettingValues before = SettingValues.defaults();
        SettingValues after = before.with("max_client_conn", "500");
        assertEquals(100, before.integer("max_client_conn"));
        assertEquals(500, after.integer("max_client_conn"));
        assertEquals(Map.of("max_client_conn", "500"), after.explicit());
        assertEquals("500", after.raw("max_client_conn"));
        assertEquals("100", before.raw("max_client_conn"));
    }

    @Test
    void comparesWithTheDefaultByMeaning() {
        assertTrue(SettingValues.defaults().with("query_wait_timeout", "120.0").isDefault("query_wait_timeout"));
        assertTrue(SettingValues.defaults().with("server_tls_sslmode", "PREFER").isDefault("server_tls_sslmode"));
        assertTrue(SettingValues.defaults().with("unix_socket_mode", "511").isDefault("unix_socket_mode"));
        assertTrue(SettingValues.defaults().with("log_stats", "yes").isDefault("log_stats"));
        assertFalse(SettingValues.defaults().with("query_wait_timeout", "60").isDefault("query_wait_timeout"));
    }
}
