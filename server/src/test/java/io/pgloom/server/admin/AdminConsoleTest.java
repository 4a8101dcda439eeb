package io.pgloom.server.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.config.SettingValues;
import io.pgloom.server.admin.AdminConsole.Command;
import io.pgloom.server.admin.AdminConsole.Right;
import io.pgloom.server.control.PoolerSettings;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The command table: every command names its right, and only reading commands are open to stats users. */
class AdminConsoleTest {

    @Test
    void onlyShowCommandsAreOpenToStatsUsers() {
        for (Command c : AdminConsole.COMMANDS.values()) {
            boolean reads = c.name().startsWith("SHOW ") && !c.name().equals("SHOW FDS");
            assertEquals(reads ? Right.STATS : Right.ADMIN, c.right(), c.name());
        }
    }

    @Test
    void everyPgBouncerCommandIsInTheTable() {
        for (String name : Set.of("SET", "RELOAD", "PAUSE", "RESUME", "SUSPEND", "DISABLE", "ENABLE", "RECONNECT", "KILL",
                "KILL_CLIENT", "SHUTDOWN", "WAIT_CLOSE", "SHOW FDS", "SHOW POOLS", "SHOW STATS", "SHOW MEM")) {
            assertTrue(AdminConsole.COMMANDS.containsKey(name), name);
        }
    }

    @Test
    void rightsComeFromAdminUsersAndStatsUsers() {
        PoolerSettings s = PoolerSettings.from(SettingValues.defaults()
                .with("admin_users", "root, ops").with("stats_users", "monitor"));
        assertEquals(Right.ADMIN, AdminConsole.rightOf(s, "ops"));
        assertEquals(Right.STATS, AdminConsole.rightOf(s, "monitor"));
        assertNull(AdminConsole.rightOf(s, "app"));
        PoolerSettings any = PoolerSettings.from(SettingValues.defaults().with("auth_type", "any").with("admin_users", "root"));
        assertEquals(Right.STATS, AdminConsole.rightOf(any, "app"), "auth_type any: everyone is a stats user");
        assertEquals(Right.ADMIN, AdminConsole.rightOf(any, "root"));
        assertTrue(Right.ADMIN.allows(Right.STATS));
        assertFalse(Right.STATS.allows(Right.ADMIN));
    }

    @Test
    void onlyShowAndSelectRunWhenADescribeAsksForColumns() {
        assertTrue(AdminConsole.onlyReads("show pools;"));
        assertTrue(AdminConsole.onlyReads("SELECT version"));
        assertFalse(AdminConsole.onlyReads("RELOAD"));
        assertFalse(AdminConsole.onlyReads("KILL_CLIENT 3"));
    }
}
