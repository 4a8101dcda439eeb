package io.pgloom.tests;

import io.pgloom.server.PgloomServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Properties;

/**
 * A pgloom instance for one test: writes a pgbouncer.ini and userlist.txt into a temp directory
 * and starts the real server on a free port. Close it at the end of the test.
 */
public final class Pgloom implements AutoCloseable {
    public final PgloomServer server;
    public final Path dir;
    public final Path ini;

    private Pgloom(PgloomServer server, Path dir, Path ini) {
        this.server = server;
        this.dir = dir;
        this.ini = ini;
    }

    /**
     * The [pgbouncer] settings every test starts from; tests add or override lines. No Unix
     * socket (PgBouncer's default is /tmp): a test that wants one sets unix_socket_dir to a temp
     * directory, so the suite leaves nothing in /tmp.
     */
    public static String baseSettings(String poolMode) {
        return """
                listen_addr = 127.0.0.1
                listen_port = 0
                unix_socket_dir =
                auth_type = scram-sha-256
                auth_file = userlist.txt
                pool_mode = %s
                default_pool_size = 5
                ignore_startup_parameters = extra_float_digits
                """.formatted(poolMode);
    }

    /** Starts pgloom with the shared PostgreSQL as databases {@code app} and {@code postgres}. */
    public static Pgloom start(String poolMode, String extraSettings) throws Exception {
        return start(poolMode, extraSettings, "");
    }

    public static Pgloom start(String poolMode, String extraSettings, String extraDatabases) throws Exception {
        return startWith(iniText(poolMode, extraSettings, extraDatabases), defaultUserlist());
    }

    /**
     * A pgbouncer.ini for the shared PostgreSQL as databases {@code app} and {@code postgres}, plus
     * {@code extraDatabases}; {@code extraSettings} come after {@link #baseSettings} and override them.
     */
    public static String iniText(String poolMode, String extraSettings, String extraDatabases) {
        TestPostgres.Endpoint pg = TestPostgres.shared();
        return """
                [databases]
                app = host=%s port=%d dbname=app
                postgres = host=%s port=%d dbname=postgres
                %s
                [pgbouncer]
                %s
                %s
                """.formatted(pg.host(), pg.port(), pg.host(), pg.port(), extraDatabases, baseSettings(poolMode), extraSettings);
    }

    public static String defaultUserlist() {
        return """
                "postgres" "postgres"
                "alice" "alice-secret"
                "bob" "bob-secret"
                """;
    }

    public static Pgloom startWith(String iniText, String userlist) throws Exception {
        Path dir = Files.createTempDirectory("pgloom-test-");
        Path ini = writeConfig(dir, iniText, userlist);
        return new Pgloom(PgloomServer.start(ini), dir, ini);
    }

    /** Writes {@code dir}/pgbouncer.ini and {@code dir}/userlist.txt; returns the ini's path. */
    public static Path writeConfig(Path dir, String iniText, String userlist) throws IOException {
        Path ini = dir.resolve("pgbouncer.ini");
        Files.writeString(dir.resolve("userlist.txt"), userlist);
        // auth_file = userlist.txt is resolved as PgBouncer does; write absolute paths to be safe.
        Files.writeString(ini, iniText.replace("auth_file = userlist.txt", "auth_file = " + dir.resolve("userlist.txt")));
        return ini;
    }

    public int port() {
        return server.port();
    }

    public String jdbcUrl(String database) {
        return jdbcUrl(port(), database);
    }

    public static String jdbcUrl(int port, String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    public Connection connect(String database, String user, String password) throws SQLException {
        return connect(port(), database, user, password);
    }

    /** A pgjdbc connection to a pgloom on {@code port}, wherever it runs. */
    public static Connection connect(int port, String database, String user, String password) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", user);
        p.setProperty("password", password);
        p.setProperty("connectTimeout", "10");
        p.setProperty("socketTimeout", "60");
        return DriverManager.getConnection(jdbcUrl(port, database), p);
    }

    public Connection connect() throws SQLException {
        return connect("app", "alice", "alice-secret");
    }

    public Connection connect(Properties extra) throws SQLException {
        Properties p = new Properties();
        p.setProperty("user", "alice");
        p.setProperty("password", "alice-secret");
        p.setProperty("connectTimeout", "10");
        p.setProperty("socketTimeout", "60");
        p.putAll(extra);
        return DriverManager.getConnection(jdbcUrl("app"), p);
    }

    @Override
    public void close() throws IOException {
        server.close();
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        }
    }
}
