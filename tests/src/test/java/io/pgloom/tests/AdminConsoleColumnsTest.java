package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Every SHOW command answers with PgBouncer 1.25's column names in PgBouncer's order (read from
 * the reference list in the test resources), over the simple protocol (RawClient, psql) and the
 * extended one (pgjdbc).
 */
class AdminConsoleColumnsTest {
    private static Pgloom pgloom;

    @BeforeAll
    static void start() throws Exception {
        pgloom = Pgloom.start("transaction", "admin_users = postgres\nstats_users = bob\n");
    }

    @AfterAll
    static void stop() throws IOException {
        pgloom.close();
    }

    /** SHOW command to its columns, from the PgBouncer 1.25 list. */
    static Map<String, List<String>> reference() throws IOException {
        Map<String, List<String>> m = new LinkedHashMap<>();
        try (InputStream in = AdminConsoleColumnsTest.class.getResourceAsStream("/pgbouncer-1.25-show-columns.txt")) {
            assertNotNull(in, "test resource pgbouncer-1.25-show-columns.txt");
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                int space = line.indexOf(' ');
                m.put(line.substring(0, space), Arrays.asList(line.substring(space + 1).trim().split("\\|")));
            }
        }
        assertEquals(14, m.size(), "the reference lists 14 SHOW commands");
        return m;
    }

    static RawClient console(String user, String password) throws IOException {
        return new RawClient(pgloom.port()).login(user, password, "pgbouncer");
    }

    @Test
    void simpleProtocolColumnsMatchPgBouncer() throws Exception {
        try (RawClient c = console("postgres", "postgres")) {
            for (Map.Entry<String, List<String>> e : reference().entrySet()) {
                ConsoleResult r = ConsoleResult.query(c, "SHOW " + e.getKey());
                assertNull(r.error(), () -> "SHOW " + e.getKey() + " failed: " + r.error().error());
                assertEquals(e.getValue(), r.columns(), "columns of SHOW " + e.getKey());
            }
        }
    }

    @Test
    void typesAreWhatPgBouncerSends() throws Exception {
        int text = 25;
        int int4 = 23;
        int numeric = 1700;
        try (RawClient c = console("bob", "bob-secret")) {
            ConsoleResult pools = ConsoleResult.query(c, "SHOW POOLS");
            assertEquals(text, pools.types().get(0));
            assertEquals(int4, pools.types().get(pools.columns().indexOf("cl_active")));
            assertEquals(int4, pools.types().get(pools.columns().indexOf("maxwait_us")));
            ConsoleResult stats = ConsoleResult.query(c, "SHOW STATS");
            assertTrue(stats.types().subList(1, stats.types().size()).stream().allMatch(t -> t == numeric),
                    "every STATS figure is numeric: " + stats.types());
            ConsoleResult totals = ConsoleResult.query(c, "SHOW TOTALS");
            assertEquals(List.of(text, numeric), totals.types());
            ConsoleResult clients = ConsoleResult.query(c, "SHOW CLIENTS");
            assertEquals(text, clients.types().get(clients.columns().indexOf("connect_time")));
            assertEquals(int4, clients.types().get(clients.columns().indexOf("id")));
            ConsoleResult users = ConsoleResult.query(c, "SHOW USERS");
            assertEquals(text, users.types().get(users.columns().indexOf("pool_size")), "PgBouncer sends pool_size as text");
        }
    }

    @Test
    void commandsAreCaseInsensitiveAndMayEndWithSemicolon() throws Exception {
        try (RawClient c = console("postgres", "postgres")) {
            for (String sql : List.of("show pools", "Show Pools;", "  SHOW   POOLS ;  ", "show \"pools\"")) {
                ConsoleResult r = ConsoleResult.query(c, sql);
                assertNull(r.error(), sql);
                assertEquals(reference().get("POOLS"), r.columns(), sql);
            }
            ConsoleResult version = ConsoleResult.query(c, "SHOW VERSION");
            assertTrue(version.rows().getFirst().get("version").startsWith("PgBouncer 1.25"), version.rows().toString());
        }
    }

    @Test
    void extendedProtocolColumnsMatchPgBouncer() throws Exception {
        try (Connection conn = pgloom.connect("pgbouncer", "postgres", "postgres")) {
            for (Map.Entry<String, List<String>> e : reference().entrySet()) {
                try (Statement st = conn.createStatement(); ResultSet rs = st.executeQuery("SHOW " + e.getKey())) {
                    assertEquals(e.getValue(), columnNames(rs.getMetaData()), "columns of SHOW " + e.getKey() + " through pgjdbc");
                    while (rs.next()) {
                        rs.getString(1);
                    }
                }
            }
            // A prepared statement run often enough that pgjdbc names it and asks for binary numbers.
            try (PreparedStatement ps = conn.prepareStatement("SHOW STATS_TOTALS")) {
                for (int i = 0; i < 8; i++) {
                    try (ResultSet rs = ps.executeQuery()) {
                        assertEquals(Types.NUMERIC, rs.getMetaData().getColumnType(2));
                        boolean sawConsole = false;
                        while (rs.next()) {
                            sawConsole |= rs.getString("database").equals("pgbouncer");
                            assertTrue(rs.getBigDecimal("xact_count").signum() >= 0);
                        }
                        assertTrue(sawConsole, "the console's own row, as in PgBouncer");
                    }
                }
            }
            try (PreparedStatement ps = conn.prepareStatement("SHOW POOLS")) {
                for (int i = 0; i < 8; i++) {
                    try (ResultSet rs = ps.executeQuery()) {
                        assertEquals(Types.INTEGER, rs.getMetaData().getColumnType(3));
                        assertTrue(rs.next());
                        assertTrue(rs.getInt("cl_active") >= 0);
                    }
                }
            }
        }
    }

    private static List<String> columnNames(ResultSetMetaData md) throws Exception {
        List<String> names = new ArrayList<>();
        for (int i = 1; i <= md.getColumnCount(); i++) {
            names.add(md.getColumnName(i));
        }
        return names;
    }

    @Test
    void extendedProtocolErrorsKeepTheConnectionUsable() throws Exception {
        Properties p = new Properties();
        p.setProperty("user", "bob");
        p.setProperty("password", "bob-secret");
        try (Connection conn = java.sql.DriverManager.getConnection(pgloom.jdbcUrl("pgbouncer"), p);
             Statement st = conn.createStatement()) {
            org.postgresql.util.PSQLException e = org.junit.jupiter.api.Assertions.assertThrows(org.postgresql.util.PSQLException.class,
                    () -> st.executeQuery("SHOW NOTHING"));
            assertEquals("08P01", e.getSQLState());
            assertEquals("invalid command 'SHOW NOTHING', use SHOW HELP;", e.getServerErrorMessage().getMessage());
            try (ResultSet rs = st.executeQuery("SHOW STATE")) {
                assertTrue(rs.next());
                assertEquals("active", rs.getString("key"));
            }
        }
    }

    @Test
    void psqlReadsTheConsole() throws Exception {
        String psql = onPath("psql");
        Assumptions.assumeTrue(psql != null, "psql is not on PATH: skipping the psql console test");
        ProcessBuilder pb = new ProcessBuilder(psql, "-h", "127.0.0.1", "-p", String.valueOf(pgloom.port()), "-U", "bob",
                "-X", "-A", "-F", "|", "-c", "SHOW POOLS", "-c", "SHOW HELP", "pgbouncer");
        pb.environment().put("PGPASSWORD", "bob-secret");
        pb.redirectErrorStream(true);
        Process proc = pb.start();
        String out = new String(proc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(proc.waitFor(60, TimeUnit.SECONDS), "psql finished");
        assertEquals(0, proc.exitValue(), out);
        assertTrue(out.contains(String.join("|", reference().get("POOLS"))), out);
        assertTrue(out.contains("pgbouncer|pgbouncer|"), out);
        assertTrue(out.contains("Console usage"), out);
    }

    static String onPath(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            java.io.File f = new java.io.File(dir, name);
            if (f.canExecute()) {
                return f.getPath();
            }
        }
        return null;
    }
}
