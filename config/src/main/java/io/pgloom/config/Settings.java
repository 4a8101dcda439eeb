package io.pgloom.config;

import static io.pgloom.config.SettingType.BOOL;
import static io.pgloom.config.SettingType.ENUM;
import static io.pgloom.config.SettingType.INT;
import static io.pgloom.config.SettingType.LIST;
import static io.pgloom.config.SettingType.OCTAL_INT;
import static io.pgloom.config.SettingType.STRING;
import static io.pgloom.config.SettingType.TIME;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The settings table: every setting of PgBouncer 1.25's {@code [pgbouncer]} section, declared
 * once. Defaults and the reload flag are copied from PgBouncer 1.25.2's {@code SHOW CONFIG}
 * ({@code default} and {@code changeable} columns), so that pgloom's {@code SHOW CONFIG} can print
 * the same rows.
 */
public final class Settings {

    private static final boolean RELOAD = true;
    private static final boolean RESTART = false;

    /** What pgloom implements in this release; everything else is parsed, checked and warned about. */
    private static final Set<String> SUPPORTED = Set.of(
            "listen_addr", "listen_port", "auth_type", "auth_file", "auth_user", "auth_query", "auth_dbname",
            "pool_mode", "max_client_conn", "default_pool_size", "min_pool_size", "reserve_pool_size", "reserve_pool_timeout",
            "max_db_connections", "max_user_connections", "server_reset_query", "server_reset_query_always",
            "server_lifetime", "server_idle_timeout", "server_check_query", "server_check_delay",
            "server_connect_timeout", "server_login_retry", "query_timeout", "query_wait_timeout",
            "client_idle_timeout", "client_login_timeout", "idle_transaction_timeout",
            "ignore_startup_parameters", "pidfile", "logfile", "verbose",
            "log_connections", "log_disconnections", "log_pooler_errors", "log_stats",
            "max_packet_size", "listen_backlog", "tcp_keepalive", "conffile", "job_name",
            "max_prepared_statements", "admin_users", "stats_users", "stats_period",
            "metrics_listen_addr", "metrics_listen_port", "unix_socket_dir", "unix_socket_mode", "unix_socket_group",
            "max_db_client_connections", "max_user_client_connections",
            "query_wait_notify", "application_name_add_host", "login_notify_message", "server_round_robin",
            "cancel_wait_timeout", "scram_iterations", "pool_idle_timeout", "autodb_idle_timeout", "transaction_timeout",
            "auth_hba_file", "auth_ident_file", "so_reuseport", "tcp_defer_accept", "peer_id",
            "tcp_keepcnt", "tcp_keepidle", "tcp_keepintvl", "tcp_socket_buffer", "disable_pqexec",
            "track_extra_parameters", "server_fast_close", "io_mode", "io_threads",
            "client_tls_sslmode", "client_tls_cert_file", "client_tls_key_file", "client_tls_ca_file", "client_tls_protocols",
            "client_tls13_ciphers", "client_tls_ciphers", "client_tls_dheparams", "client_tls_ecdhcurve",
            "server_tls_sslmode", "server_tls_ca_file", "server_tls_cert_file", "server_tls_key_file", "server_tls_protocols",
            "server_tls_ciphers", "server_tls13_ciphers",
            "probe_interval", "probe_timeout", "primary_grace", "promote", "max_replica_lag", "readmit_delay",
            "repoint_standbys", "probe_user", "probe_dbname");

    /**
     * PgBouncer settings that tune something pgloom does not have: accepted, with a warning that
     * says why they change nothing when set to anything but their default.
     */
    private static final Map<String, String> NO_EFFECT = Map.of(
            "tcp_user_timeout", "the JDK cannot set TCP_USER_TIMEOUT, and pgloom has no native code for it; the kernel's"
                    + " net.ipv4.tcp_retries2 bounds unacknowledged sends for every socket, and tcp_keepidle,"
                    + " tcp_keepintvl and tcp_keepcnt find dead idle peers",
            "pkt_buf", "it sizes PgBouncer's fixed I/O buffers; pgloom's grow per connection as traffic needs"
                    + " (from 128 bytes for a client, from 8 KiB to 256 KiB for a server)",
            "sbuf_loopcnt", "it keeps one busy connection from starving others in PgBouncer's single event loop; in"
                    + " pgloom each connection has its own virtual thread, and the JVM's scheduler shares the CPU",
            "dns_max_ttl", "pgloom resolves host names through the JVM, which caches answers itself: set"
                    + " -Dsun.net.inetaddr.ttl=<seconds> in PGLOOM_JAVA_OPTS",
            "dns_nxdomain_ttl", "pgloom resolves host names through the JVM, which caches failed lookups itself: set"
                    + " -Dsun.net.inetaddr.negative.ttl=<seconds> in PGLOOM_JAVA_OPTS",
            "dns_zone_check_period", "it polls DNS zone serials through PgBouncer's c-ares resolver; pgloom resolves"
                    + " through the JVM, whose cache expires answers after -Dsun.net.inetaddr.ttl",
            "resolv_conf", "pgloom resolves host names through the JVM and the system's resolver (nsswitch,"
                    + " /etc/resolv.conf), which cannot be pointed at another resolv.conf",
            "suspend_timeout", "pgloom has no SUSPEND or online restart (SUSPEND answers 0A000), so there is nothing"
                    + " to time out");

    /**
     * pgloom's own settings: not PgBouncer's, so PgBouncer would refuse a file that sets them. They
     * sit in the same table (parser, pgloom check, README) but not in SHOW CONFIG, which lists
     * exactly PgBouncer's rows for the scripts that read it.
     */
    private static final Set<String> PGLOOM_ONLY = Set.of("metrics_listen_addr", "metrics_listen_port", "io_mode", "io_threads");

    /** pgloom's {@code [failover]} section: its own settings, also not in SHOW CONFIG. */
    private static final Set<String> FAILOVER = Set.of("probe_interval", "probe_timeout", "primary_grace", "promote",
            "max_replica_lag", "readmit_delay", "repoint_standbys", "probe_user", "probe_dbname");

    private static final List<String> SSL_MODES =
            List.of("disable", "allow", "prefer", "require", "verify-ca", "verify-full");

    private static final Map<String, List<String>> CHOICES = Map.of(
            "pool_mode", List.of("session", "transaction", "statement"),
            // ldap is a valid PgBouncer 1.25 value; AuthType refuses it with a clear message. peer
            // is not (PgBouncer has peer in hba rules only); pgloom takes it, meaning what an hba file
            // of one line "local all all peer" would, for setups that want nothing else.
            "auth_type", List.of("any", "trust", "plain", "md5", "cert", "hba", "ldap", "pam", "scram-sha-256", "peer"),
            "io_mode", List.of("carriers", "jdk"),
            "client_tls_sslmode", SSL_MODES,
            "server_tls_sslmode", SSL_MODES);

    private static final List<Setting> ALL;
    private static final List<Setting> PGBOUNCER;
    private static final Map<String, Setting> BY_NAME;

    static {
        List<Setting> table = new ArrayList<>(List.of(
                row("admin_users", LIST, "", "", RELOAD, "users allowed to run every admin console command"),
                row("application_name_add_host", BOOL, "0", "", RELOAD, "append the client's address and port to application_name at login"),
                row("auth_dbname", STRING, "", "", RELOAD,
                        "[databases] entry whose connection runs auth_query (default: the client's); pgbouncer, the admin console, is refused as in PgBouncer"),
                row("auth_file", STRING, "", "", RELOAD, "userlist.txt with user names and passwords or secrets"),
                row("auth_hba_file", STRING, "", "", RELOAD, "pg_hba.conf rules for auth_type hba: local, host, hostssl, hostnossl; methods trust, reject, md5, password, scram-sha-256, peer, cert (with map=)"),
                row("auth_ident_file", STRING, "", "", RELOAD, "pg_ident.conf user name maps for hba map= options (names, /regex with \\1, all)"),
                row("auth_ldap_options", STRING, "", "", RELOAD, "LDAP connection options for auth_type ldap"),
                row("auth_query", STRING, "SELECT rolname, CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END FROM pg_authid WHERE rolname=$1 AND rolcanlogin", "", RELOAD, "query that fetches a password for users missing from auth_file"),
                row("auth_type", ENUM, "md5", "", RELOAD, "how clients authenticate; pgloom has all but pam and ldap (hba: see auth_hba_file; cert: the client certificate's CN is the user)"),
                row("auth_user", STRING, "", "", RELOAD, "user that runs auth_query; its password comes from auth_file"),
                row("autodb_idle_timeout", TIME, "3600", "s", RELOAD, "free pools made from the * entry after this long unused"),
                row("cancel_wait_timeout", TIME, "10", "s", RELOAD, "give up forwarding a cancel request after this long"),
                row("client_idle_timeout", TIME, "0", "s", RELOAD, "close client connections idle this long (0 = never)"),
                row("client_login_timeout", TIME, "60", "s", RELOAD, "drop clients that have not logged in after this long"),
                row("client_tls13_ciphers", STRING, "", "", RELOAD, "TLS 1.3 cipher suites offered to clients"),
                row("client_tls_ca_file", STRING, "", "", RELOAD, "CA certificates that validate client certificates"),
                row("client_tls_cert_file", STRING, "", "", RELOAD, "certificate presented to clients"),
                row("client_tls_ciphers", STRING, "default", "", RELOAD, "TLS 1.2 suites offered to clients: an OpenSSL list (suite names, HIGH, ECDHE+AESGCM, !SHA1)"),
                row("client_tls_dheparams", STRING, "auto", "", RELOAD, "finite-field DHE towards clients: auto, legacy (both the JDK's 2048-bit and up) or none"),
                row("client_tls_ecdhcurve", STRING, "auto", "", RELOAD, "ECDHE curve towards clients: auto (the JDK's curves), none, or one curve (prime256v1, secp384r1, X25519...)"),
                row("client_tls_key_file", STRING, "", "", RELOAD, "private key for client TLS"),
                row("client_tls_protocols", STRING, "secure", "", RELOAD, "TLS versions accepted from clients"),
                row("client_tls_sslmode", ENUM, "disable", "", RELOAD, "whether clients may or must use TLS"),
                row("conffile", STRING, "", "", RELOAD, "the configuration file read on the next reload"),
                row("default_pool_size", INT, "20", "", RELOAD, "server connections per user and database pair"),
                row("disable_pqexec", BOOL, "0", "", RESTART, "refuse the simple query protocol"),
                row("dns_max_ttl", TIME, "15", "s", RELOAD, "how long a DNS answer is cached"),
                row("dns_nxdomain_ttl", TIME, "15", "s", RELOAD, "how long a failed DNS lookup is cached"),
                row("dns_zone_check_period", TIME, "0", "s", RELOAD, "how often DNS zone serials are checked (0 = never)"),
                row("idle_transaction_timeout", TIME, "0", "s", RELOAD, "disconnect clients idle inside a transaction this long (0 = never)"),
                row("ignore_startup_parameters", LIST, "", "", RELOAD, "startup parameters accepted from clients and then ignored"),
                row("io_mode", ENUM, "carriers", "", RESTART, "carriers: pgloom's virtual threads run on its own carrier threads, which poll their sockets themselves; jdk: on the JDK's scheduler and sockets"),
                row("io_threads", INT, "0", "", RESTART, "carrier threads with io_mode = carriers (0 = one per two available processors, at least one)"),
                row("job_name", STRING, "pgbouncer", "", RESTART, "service name used in logs and by the service manager"),
                row("listen_addr", LIST, "", "", RESTART, "TCP addresses to listen on; * for all, empty for none"),
                row("listen_backlog", INT, "128", "", RESTART, "listen(2) backlog"),
                row("listen_port", INT, "6432", "", RESTART, "TCP port to listen on"),
                row("log_connections", BOOL, "1", "", RELOAD, "log each successful login"),
                row("log_disconnections", BOOL, "1", "", RELOAD, "log each disconnection with its reason"),
                row("log_pooler_errors", BOOL, "1", "", RELOAD, "log the errors sent to clients"),
                row("log_stats", BOOL, "1", "", RELOAD, "log aggregated statistics every stats_period"),
                row("logfile", STRING, "", "", RELOAD, "file to log to, besides stderr"),
                row("login_notify_message", STRING, "", "", RELOAD, "notice sent to clients right after login"),
                row("max_client_conn", INT, "100", "", RELOAD, "client connections allowed in total"),
                row("max_db_client_connections", INT, "0", "", RELOAD, "client connections allowed per database (0 = no limit)"),
                row("max_db_connections", INT, "0", "", RELOAD, "server connections allowed per database (0 = no limit)"),
                row("max_packet_size", INT, "2147483647", "bytes", RELOAD, "largest protocol message let through"),
                row("max_prepared_statements", INT, "200", "", RELOAD, "named prepared statements kept per server connection in transaction and statement mode (0 = pass them through untracked)"),
                row("max_user_client_connections", INT, "0", "", RELOAD, "client connections allowed per user (0 = no limit)"),
                row("max_user_connections", INT, "0", "", RELOAD, "server connections allowed per user (0 = no limit)"),
                row("metrics_listen_addr", STRING, "127.0.0.1", "", RESTART, "address of the HTTP listener for /metrics, /health and /ready; * for all"),
                row("metrics_listen_port", INT, "", "", RESTART, "port of the HTTP listener for /metrics, /health and /ready; unset = no listener"),
                row("min_pool_size", INT, "0", "", RELOAD, "keep at least this many server connections open per pool"),
                row("peer_id", INT, "0", "", RELOAD, "this process's id in [peers], 1 to 65535, put in the cancel keys it hands out (0 = peering off)"),
                row("pidfile", STRING, "", "", RESTART, "file to write the process id to"),
                row("pkt_buf", INT, "4096", "bytes", RESTART, "size of the internal packet buffer"),
                row("pool_idle_timeout", TIME, "0", "s", RELOAD, "free a pool unused for this long (0 = never)"),
                row("pool_mode", ENUM, "session", "", RELOAD, "when a server connection returns to the pool"),
                row("query_timeout", TIME, "0", "s", RELOAD, "cancel queries running longer than this (0 = never)"),
                row("query_wait_notify", TIME, "5", "s", RELOAD, "tell a waiting client it is queued after this long (0 = never)"),
                row("query_wait_timeout", TIME, "120", "s", RELOAD, "disconnect clients that waited this long for a server (0 = wait forever)"),
                row("reserve_pool_size", INT, "0", "", RELOAD, "extra server connections a busy pool may open"),
                row("reserve_pool_timeout", TIME, "5", "s", RELOAD, "how long a client waits before the reserve pool is used"),
                row("resolv_conf", STRING, "", "", RESTART, "custom resolv.conf for DNS lookups"),
                row("sbuf_loopcnt", INT, "5", "", RELOAD, "rounds of data handled per connection before moving on"),
                row("scram_iterations", INT, "4096", "", RELOAD, "PBKDF2 iterations when deriving SCRAM secrets"),
                row("server_check_delay", TIME, "30", "s", RELOAD, "a released connection is reused without a check for this long"),
                row("server_check_query", STRING, "<empty>", "", RELOAD, "liveness check query; <empty> sends an empty query, empty disables checks"),
                row("server_connect_timeout", TIME, "15", "s", RELOAD, "time allowed to connect to and log in to a server"),
                row("server_fast_close", BOOL, "0", "", RELOAD, "in session mode close connections marked for closing at once"),
                row("server_idle_timeout", TIME, "600", "s", RELOAD, "close server connections idle this long (0 = never)"),
                row("server_lifetime", TIME, "3600", "s", RELOAD, "close unused server connections older than this (0 = use each once)"),
                row("server_login_retry", TIME, "15", "s", RELOAD, "wait this long before connecting again after a failed login"),
                row("server_reset_query", STRING, "DISCARD ALL", "", RELOAD, "query that cleans a session before the next client gets it"),
                row("server_reset_query_always", BOOL, "0", "", RELOAD, "run server_reset_query in every pool mode, not only session"),
                row("server_round_robin", BOOL, "0", "", RELOAD, "reuse server connections in turn instead of most recent first"),
                row("server_tls13_ciphers", STRING, "", "", RELOAD, "TLS 1.3 cipher suites offered to servers"),
                row("server_tls_ca_file", STRING, "", "", RELOAD, "CA certificates that validate server certificates under verify-ca and verify-full (empty: the JDK's trusted CAs)"),
                row("server_tls_cert_file", STRING, "", "", RELOAD, "client certificate presented to servers (for their cert method); needs server_tls_key_file"),
                row("server_tls_ciphers", STRING, "default", "", RELOAD, "TLS 1.2 suites offered to servers: an OpenSSL list, as client_tls_ciphers"),
                row("server_tls_key_file", STRING, "", "", RELOAD, "private key for the certificate presented to servers"),
                row("server_tls_protocols", STRING, "secure", "", RELOAD, "TLS versions used towards servers"),
                row("server_tls_sslmode", ENUM, "prefer", "", RELOAD, "whether connections to servers use TLS and how they verify it"),
                row("so_reuseport", BOOL, "0", "", RESTART, "set SO_REUSEPORT on the TCP listening sockets, so several processes share the port (each needs its own unix_socket_dir)"),
                row("stats_period", INT, "60", "s", RELOAD, "how often averages are computed and statistics logged"),
                row("stats_users", LIST, "", "", RELOAD, "users allowed to run read-only admin console commands"),
                row("suspend_timeout", TIME, "10", "s", RELOAD, "time allowed to flush buffers during SUSPEND or online restart"),
                row("syslog", BOOL, "0", "", RELOAD, "also log to syslog"),
                row("syslog_facility", STRING, "daemon", "", RELOAD, "syslog facility"),
                row("syslog_ident", STRING, "pgbouncer", "", RELOAD, "program name used in syslog"),
                row("tcp_defer_accept", BOOL, "1", "", RELOAD, "set TCP_DEFER_ACCEPT (1 second, as PgBouncer) on the TCP listening sockets: the kernel hands a connection over once the client's first bytes arrive; a RELOAD or SET applies it at once. With io_mode = carriers only: with io_mode = jdk the JDK cannot set it"),
                row("tcp_keepalive", BOOL, "1", "", RELOAD, "turn on TCP keepalive with the system's timings"),
                row("tcp_keepcnt", INT, "0", "", RELOAD, "keepalive probes before a connection is dropped (0 = system default)"),
                row("tcp_keepidle", INT, "0", "s", RELOAD, "idle time before the first keepalive probe (0 = system default)"),
                row("tcp_keepintvl", INT, "0", "s", RELOAD, "time between keepalive probes (0 = system default)"),
                row("tcp_socket_buffer", INT, "0", "bytes", RELOAD, "socket send and receive buffer size (0 = system default)"),
                row("tcp_user_timeout", INT, "0", "ms", RELOAD, "TCP_USER_TIMEOUT on sockets (0 = system default)"),
                row("track_extra_parameters", LIST, "IntervalStyle", "", RESTART, "more server parameters kept per client besides the usual five"),
                row("transaction_timeout", TIME, "0", "s", RELOAD, "disconnect clients whose transaction lasts this long (0 = never)"),
                row("unix_socket_dir", STRING, "/tmp", "", RESTART, "directory of the Unix socket; empty turns it off"),
                row("unix_socket_group", STRING, "", "", RESTART, "group owning the Unix socket"),
                row("unix_socket_mode", OCTAL_INT, "0777", "", RESTART, "file mode of the Unix socket"),
                row("user", STRING, "", "", RESTART, "Unix user to switch to after start"),
                row("verbose", INT, "", "", RELOAD, "log verbosity, like repeating -v"),
                row("probe_interval", TIME, "1", "s", RELOAD, "how often every host of a [databases] entry with a target_session_attrs is probed for its role, timeline and replay position"),
                row("probe_timeout", TIME, "2", "s", RELOAD, "a probe not answered within this long counts its host as down (a host that accepts TCP and never answers)"),
                row("primary_grace", TIME, "3", "s", RELOAD, "how long the primary may stay unreachable before it counts as lost (and, with promote on, a standby is promoted)"),
                row("promote", BOOL, "0", "", RELOAD, "promote the most advanced healthy standby (pg_promote) once the primary is lost and fence the old one; off: follow whichever host reports read-write"),
                row("max_replica_lag", STRING, "0", "", RELOAD, "a standby further behind the primary than this takes no reads: bytes (16MB, 1GB) or a duration (10s, 500ms); 0 = no limit"),
                row("readmit_delay", TIME, "10", "s", RELOAD, "a host that was down or lagging must stay fit this long before it takes traffic again (damps flapping hosts)"),
                row("repoint_standbys", BOOL, "1", "", RELOAD, "after a promotion, point the other standbys at the new primary (ALTER SYSTEM SET primary_conninfo and a reload)"),
                row("probe_user", STRING, "", "", RELOAD, "user the probes and promotions log in as, its password from auth_file; empty: the entry's user=, else auth_user (needs pg_promote rights for promote)"),
                row("probe_dbname", STRING, "postgres", "", RELOAD, "database the probes log in to")));
        table.sort(Comparator.comparing(Setting::name));
        Map<String, Setting> byName = new LinkedHashMap<>();
        for (Setting setting : table) {
            if (byName.put(setting.name(), setting) != null) {
                throw new ExceptionInInitializerError("setting declared twice: " + setting.name());
            }
        }
        for (String name : SUPPORTED) {
            if (!byName.containsKey(name)) {
                throw new ExceptionInInitializerError("supported setting missing from the table: " + name);
            }
        }
        for (String name : NO_EFFECT.keySet()) {
            if (!byName.containsKey(name)) {
                throw new ExceptionInInitializerError("setting with no effect missing from the table: " + name);
            }
        }
        ALL = List.copyOf(table);
        PGBOUNCER = table.stream().filter(Setting::pgbouncer).toList();
        BY_NAME = Map.copyOf(byName);
    }

    private Settings() {
    }

    /** Every setting, PgBouncer's and pgloom's own, sorted by name. */
    public static List<Setting> all() {
        return ALL;
    }

    /** PgBouncer 1.25's settings only, sorted by name: the rows of SHOW CONFIG. */
    public static List<Setting> pgbouncer() {
        return PGBOUNCER;
    }

    /** The setting with exactly this name; names are case-sensitive, as in PgBouncer. */
    public static Optional<Setting> byName(String name) {
        return Optional.ofNullable(BY_NAME.get(name));
    }

    static List<String> choicesOf(String name) {
        return CHOICES.getOrDefault(name, List.of());
    }

    private static Setting row(String name, SettingType type, String defaultValue, String unit,
                               boolean reloadable, String description) {
        boolean failover = FAILOVER.contains(name);
        return new Setting(name, type, defaultValue, unit, reloadable, SUPPORTED.contains(name),
                !PGLOOM_ONLY.contains(name) && !failover, description, NO_EFFECT.getOrDefault(name, ""),
                failover ? Setting.FAILOVER : Setting.MAIN);
    }
}
