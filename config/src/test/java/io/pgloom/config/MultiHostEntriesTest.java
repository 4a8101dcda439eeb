package io.pgloom.config;

import static io.pgloom.config.TestFiles.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Host lists with their ports, load_balance_hosts, target_session_attrs and the [failover] section. */
class MultiHostEntriesTest {
    @TempDir
    Path dir;

    private PgloomConfig load(String text) throws ConfigException {
        write(dir, "pgbouncer.ini", text);
        return ConfigLoader.load(Path.of("pgbouncer.ini"), dir);
    }

    private DatabaseEntry database(String line) throws ConfigException {
        return load("[pgbouncer]\n[databases]\n" + line + "\n").databases().getFirst();
    }

    @Test
    void onePortForEveryHostOrOneEach() throws Exception {
        assertEquals(List.of(6000, 6000, 6000), database("app = host=pg1,pg2,pg3 port=6000").ports());
        assertEquals(List.of(5432, 5433, 5434), database("app = host=pg1,pg2,pg3 port=5432,5433,5434").ports());
        assertEquals(List.of(5432, 5432), database("app = host=pg1,pg2").ports());
        assertEquals(List.of(5433), database("app = port=5433").ports());
        assertEquals(List.of(5432, 5433), database("app = host='pg1, pg2' port='5432, 5433'").ports(),
                "blanks around the commas are fine in a quoted value");
    }

    @Test
    void loadBalanceHostsDefaultsToRoundRobin() throws Exception {
        assertEquals(LoadBalanceHosts.ROUND_ROBIN, database("app = host=pg1,pg2").loadBalanceHosts());
        assertEquals(LoadBalanceHosts.DISABLE, database("app = host=pg1,pg2 load_balance_hosts=disable").loadBalanceHosts());
        assertEquals(LoadBalanceHosts.ROUND_ROBIN, database("app = host=pg1,pg2 load_balance_hosts=Round-Robin").loadBalanceHosts());
    }

    @ParameterizedTest
    @CsvSource({"any, ANY", "read-write, READ_WRITE", "primary, PRIMARY", "read-only, READ_ONLY", "standby, STANDBY",
        "prefer-standby, PREFER_STANDBY", "Prefer-Standby, PREFER_STANDBY"})
    void targetSessionAttrsInLibpqsWords(String word, TargetSessionAttrs expected) throws Exception {
        assertEquals(expected, database("app = host=pg1,pg2 target_session_attrs=" + word).targetSessionAttrs());
    }

    @Test
    void targetSessionAttrsDefaultsToAny() throws Exception {
        assertEquals(TargetSessionAttrs.ANY, database("app = host=pg1,pg2").targetSessionAttrs());
    }

    @Test
    void readsTheFailoverSection() throws Exception {
        PgloomConfig config = load("""
                [pgbouncer]
                listen_port = 7000
                [failover]
                probe_interval = 0.5
                probe_timeout = 1
                primary_grace = 4
                promote = on
                max_replica_lag = 16MB
                readmit_delay = 2
                repoint_standbys = off
                probe_user = monitor
                [databases]
                app = host=pg1,pg2 target_session_attrs=read-write
                """);
        SettingValues s = config.settings();
        assertEquals(Duration.ofMillis(500), s.time("probe_interval"));
        assertEquals(Duration.ofSeconds(4), s.time("primary_grace"));
        assertEquals(true, s.bool("promote"));
        assertEquals(new ReplicaLag(16 << 20, Duration.ZERO), ReplicaLag.parse(s.string("max_replica_lag")));
        assertEquals(false, s.bool("repoint_standbys"));
        assertEquals("monitor", s.string("probe_user"));
        assertEquals("postgres", s.string("probe_dbname"), "the default");
        assertEquals(7000, s.integer("listen_port"));
    }

    @Test
    void failoverSettingsBelongInTheirSectionAndPgBouncersInTheirs() {
        var e = assertThrows(ConfigException.class, () -> load("[pgbouncer]\npromote = on\n"));
        assertEquals("pgbouncer.ini:2: setting 'promote' belongs in [failover], not in [pgbouncer]", e.getMessage());
        e = assertThrows(ConfigException.class, () -> load("[pgbouncer]\n[failover]\nlisten_port = 1\n"));
        assertEquals("pgbouncer.ini:3: setting 'listen_port' belongs in [pgbouncer], not in [failover]", e.getMessage());
    }

    @Test
    void reopeningPgbouncerKeepsTheFailoverSettings() throws Exception {
        PgloomConfig config = load("[failover]\npromote = 1\n[pgbouncer]\nlisten_port = 7000\n[pgbouncer]\n");
        assertEquals(true, config.settings().bool("promote"));
        assertEquals(6432, config.settings().integer("listen_port"));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
            0        | 0  | 0
            1048576  | 1048576 | 0
            512kB    | 524288 | 0
            16MB     | 16777216 | 0
            1GB      | 1073741824 | 0
            500ms    | 0  | 500
            10s      | 0  | 10000
            1.5s     | 0  | 1500
            1min     | 0  | 60000
            """)
    void maxReplicaLagInBytesOrTime(String text, long bytes, long millis) {
        ReplicaLag lag = ReplicaLag.parse(text);
        assertEquals(bytes, lag.bytes());
        assertEquals(millis, lag.time().toMillis());
    }

    @Test
    void refusesAMaxReplicaLagItCannotRead() {
        var e = assertThrows(ConfigException.class, () -> load("[pgbouncer]\n[failover]\nmax_replica_lag = 16 furlongs\n"));
        assertEquals("pgbouncer.ini:3: invalid value '16 furlongs' for setting 'max_replica_lag': expected 0 (no limit),"
                + " bytes (16777216, 512kB, 16MB, 1GB) or a duration (500ms, 10s, 1min)", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ReplicaLag.parse("1.5"), "a fraction of a byte");
        assertThrows(IllegalArgumentException.class, () -> ReplicaLag.parse("-1MB"));
    }
}
