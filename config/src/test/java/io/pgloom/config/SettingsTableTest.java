package io.pgloom.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class SettingsTableTest {

    @Test
    void rendersOneRowPerSettingSortedByName() {
        List<String> lines = SettingsTable.markdown().lines().toList();
        assertEquals("| setting | default | reload | pgloom | description |", lines.get(0));
        assertEquals("|---|---|---|---|---|", lines.get(1));
        List<String> rows = lines.subList(2, lines.size());
        assertEquals(Settings.all().size(), rows.size());
        List<String> names = rows.stream().map(row -> row.substring(3, row.indexOf('`', 3))).toList();
        assertEquals(Settings.all().stream().map(Setting::name).sorted().toList(), names);
        for (String row : rows) {
            assertEquals(7, row.split("(?<!\\\\)\\|", -1).length, row);
        }
    }

    @Test
    void showsDefaultsUnitsReloadAndSupport() {
        String table = SettingsTable.markdown();
        assertTrue(table.contains("| `default_pool_size` | `20` | yes | yes | server connections per user and database pair |"), table);
        assertTrue(table.contains("| `listen_port` | `6432` | no | yes |"), table);
        assertTrue(table.contains("| `query_wait_timeout` | `120` s | yes | yes |"), table);
        assertTrue(table.contains("| `server_tls_sslmode` | `prefer` | yes | yes |"), table);
        assertTrue(table.contains("| `admin_users` |  | yes | yes |"), table);
        assertTrue(table.contains("| `syslog` | `0` | yes | not yet |"), table);
        assertTrue(table.contains("| `metrics_listen_port` |  | no | pgloom only | **not a PgBouncer setting**: "), table);
        assertTrue(table.contains("| `promote` | `0` | yes | pgloom only | **[failover] section**: "), table);
    }
}
