package io.pgloom.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class SettingsTest {

    /** The names of PgBouncer 1.25.2's SHOW CONFIG (shared/reference/pgbouncer-1.25-show-config.txt). */
    private static final int PGBOUNCER_1_25_SETTINGS = 100;

    @Test
    void holdsEveryPgBouncer125SettingOnce() {
        List<String> names = Settings.pgbouncer().stream().map(Setting::name).toList();
        assertEquals(PGBOUNCER_1_25_SETTINGS, names.size());
        assertEquals(PGBOUNCER_1_25_SETTINGS, Set.copyOf(names).size());
        assertEquals(names.stream().sorted().toList(), names, "sorted by name, as SHOW CONFIG prints them");
        assertEquals("admin_users", names.getFirst());
        assertEquals("verbose", names.getLast());
    }

    @Test
    void defaultsAndReloadFlagsMatchPgBouncersShowConfig() {
        assertSetting("default_pool_size", SettingType.INT, "20", true);
        assertSetting("max_client_conn", SettingType.INT, "100", true);
        assertSetting("listen_port", SettingType.INT, "6432", false);
        assertSetting("listen_addr", SettingType.LIST, "", false);
        assertSetting("auth_type", SettingType.ENUM, "md5", true);
        assertSetting("pool_mode", SettingType.ENUM, "session", true);
        assertSetting("server_tls_sslmode", SettingType.ENUM, "prefer", true);
        assertSetting("server_check_query", SettingType.STRING, "<empty>", true);
        assertSetting("server_reset_query", SettingType.STRING, "DISCARD ALL", true);
        assertSetting("query_wait_timeout", SettingType.TIME, "120", true);
        assertSetting("server_lifetime", SettingType.TIME, "3600", true);
        assertSetting("unix_socket_mode", SettingType.OCTAL_INT, "0777", false);
        assertSetting("unix_socket_dir", SettingType.STRING, "/tmp", false);
        assertSetting("track_extra_parameters", SettingType.LIST, "IntervalStyle", false);
        assertSetting("disable_pqexec", SettingType.BOOL, "0", false);
        assertSetting("max_packet_size", SettingType.INT, "2147483647", true);
        assertSetting("verbose", SettingType.INT, "", true);
        assertSetting("job_name", SettingType.STRING, "pgbouncer", false);
        assertEquals("SELECT rolname, CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END FROM pg_authid"
                + " WHERE rolname=$1 AND rolcanlogin", Settings.byName("auth_query").orElseThrow().defaultValue());
    }

    @Test
    void theSameSettingsNeedARestartAsInPgBouncer() {
        Set<String> restart = Settings.pgbouncer().stream().filter(s -> !s.reloadable()).map(Setting::name)
                .collect(Collectors.toSet());
        assertEquals(Set.of("disable_pqexec", "job_name", "listen_addr", "listen_backlog", "listen_port", "pidfile",
                "pkt_buf", "resolv_conf", "so_reuseport", "track_extra_parameters", "unix_socket_dir",
                "unix_socket_group", "unix_socket_mode", "user"), restart);
    }

    @Test
    void marksExactlyWhatPgloomImplements() {
        Set<String> supported = Settings.pgbouncer().stream().filter(Setting::supported).map(Setting::name)
                .collect(Collectors.toSet());
        assertEquals(Set.of("listen_addr", "listen_port", "auth_type", "auth_file", "auth_user", "auth_query", "auth_dbname",
                "pool_mode", "max_client_conn",
                "default_pool_size", "min_pool_size", "reserve_pool_size", "reserve_pool_timeout",
                "max_db_connections", "max_user_connections", "server_reset_query", "server_reset_query_always",
                "server_lifetime", "server_idle_timeout", "server_check_query", "server_check_delay",
                "server_connect_timeout", "server_login_retry", "query_timeout", "query_wait_timeout",
                "client_idle_timeout", "client_login_timeout", "idle_transaction_timeout",
                "ignore_startup_parameters", "pidfile", "logfile", "verbose", "max_packet_size",
                "listen_backlog", "tcp_keepalive", "conffile", "job_name", "max_prepared_statements",
                "admin_users", "stats_users", "stats_period", "log_connections", "log_disconnections",
                "log_pooler_errors", "log_stats", "unix_socket_dir", "unix_socket_mode", "unix_socket_group",
                "max_db_client_connections", "max_user_client_connections",
                "client_tls_sslmode", "client_tls_cert_file", "client_tls_key_file", "client_tls_ca_file", "client_tls_protocols",
                "client_tls13_ciphers", "client_tls_ciphers", "server_tls_sslmode", "server_tls_ca_file", "server_tls_cert_file",
                "server_tls_key_file", "server_tls_protocols", "server_tls_ciphers", "server_tls13_ciphers",
                "client_tls_dheparams", "client_tls_ecdhcurve", "query_wait_notify", "application_name_add_host", "login_notify_message", "server_round_robin",
                "cancel_wait_timeout", "scram_iterations", "pool_idle_timeout", "autodb_idle_timeout",
                "auth_hba_file", "auth_ident_file", "so_reuseport", "peer_id",
                "transaction_timeout", "tcp_keepcnt", "tcp_keepidle", "tcp_keepintvl", "tcp_socket_buffer", "tcp_defer_accept",
                "disable_pqexec", "track_extra_parameters", "server_fast_close"), supported);
    }

    @Test
    void settingsThatChangeNothingInPgloomSayWhyAndAreAccepted() {
        Set<String> noEffect = Settings.pgbouncer().stream().filter(s -> !s.noEffect().isEmpty()).map(Setting::name)
                .collect(Collectors.toSet());
        assertEquals(Set.of("tcp_user_timeout", "pkt_buf", "sbuf_loopcnt", "dns_max_ttl",
                "dns_nxdomain_ttl", "dns_zone_check_period", "resolv_conf", "suspend_timeout"), noEffect);
        Setting pktBuf = Settings.byName("pkt_buf").orElseThrow();
        assertFalse(pktBuf.supported());
        assertTrue(pktBuf.accepted());
        assertTrue(Settings.byName("dns_max_ttl").orElseThrow().noEffect().contains("-Dsun.net.inetaddr.ttl"));
        assertFalse(Settings.byName("auth_ldap_options").orElseThrow().accepted(), "not built yet, not no effect");
    }

    @Test
    void pgloomsOwnSettingsAreMarkedAndKeptOutOfPgBouncersList() {
        List<String> own = Settings.all().stream().filter(s -> !s.pgbouncer()).map(Setting::name).toList();
        assertEquals(List.of("io_mode", "io_threads", "max_replica_lag", "metrics_listen_addr", "metrics_listen_port",
                "primary_grace", "probe_dbname", "probe_interval", "probe_timeout", "probe_user", "promote", "readmit_delay",
                "repoint_standbys"), own);
        assertEquals(List.of("max_replica_lag", "primary_grace", "probe_dbname", "probe_interval", "probe_timeout",
                "probe_user", "promote", "readmit_delay", "repoint_standbys"), Settings.all().stream()
                .filter(s -> s.section().equals(Setting.FAILOVER)).map(Setting::name).toList(), "[failover]'s own");
        assertEquals(PGBOUNCER_1_25_SETTINGS + own.size(), Settings.all().size());
        Setting port = Settings.byName("metrics_listen_port").orElseThrow();
        assertTrue(port.supported());
        assertFalse(port.reloadable());
        assertEquals("", port.defaultValue(), "off unless set");
        assertEquals("127.0.0.1", Settings.byName("metrics_listen_addr").orElseThrow().defaultValue());
    }

    @Test
    void everyDefaultParsesAsItsOwnType() {
        for (Setting setting : Settings.all()) {
            SettingValue.parseDefault(setting);
            assertFalse(setting.description().isBlank(), setting.name());
            assertEquals(setting.type() == SettingType.ENUM, !setting.choices().isEmpty(), setting.name());
        }
    }

    @Test
    void timesAreInSecondsAndSizesInBytes() {
        for (Setting setting : Settings.all()) {
            if (setting.type() == SettingType.TIME) {
                assertEquals("s", setting.unit(), setting.name());
            }
        }
        assertEquals("bytes", Settings.byName("pkt_buf").orElseThrow().unit());
        assertEquals("ms", Settings.byName("tcp_user_timeout").orElseThrow().unit());
    }

    @Test
    void namesAreCaseSensitive() {
        assertTrue(Settings.byName("pool_mode").isPresent());
        assertTrue(Settings.byName("Pool_Mode").isEmpty());
        assertTrue(Settings.byName("no_such_setting").isEmpty());
    }

    private static void assertSetting(String name, SettingType type, String defaultValue, boolean reloadable) {
        Setting setting = Settings.byName(name).orElseThrow();
        assertEquals(type, setting.type(), name);
        assertEquals(defaultValue, setting.defaultValue(), name);
        assertEquals(reloadable, setting.reloadable(), name);
    }
}
