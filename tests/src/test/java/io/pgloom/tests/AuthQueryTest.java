package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * auth_query / auth_user / auth_dbname: users missing from auth_file log in with the secret
 * PostgreSQL holds for them, fetched by auth_user, as with PgBouncer.
 */
class AuthQueryTest {
    /** A SCRAM role, an md5 role, an expired role, and a non-superuser auth role with a lookup function. */
    @BeforeAll
    static void roles() throws SQLException {
        try (Connection c = TestPostgres.direct("app"); Statement s = c.createStatement()) {
            s.execute("DROP FUNCTION IF EXISTS public.aq_lookup(text)");
            for (String role : List.of("aq_carol", "aq_dave", "aq_erin", "aq_auth")) {
                s.execute("DROP ROLE IF EXISTS " + role);
            }
            s.execute("CREATE ROLE aq_carol LOGIN PASSWORD 'carol-secret'");
            s.execute("CREATE ROLE aq_erin LOGIN PASSWORD 'erin-secret' VALID UNTIL '2000-01-01'");
            s.execute("CREATE ROLE aq_auth LOGIN PASSWORD 'aq-auth-secret'");
            s.execute("SET password_encryption = 'md5'");
            s.execute("CREATE ROLE aq_dave LOGIN PASSWORD 'dave-secret'");
            s.execute("RESET password_encryption");
            // As PgBouncer's docs advise: the auth role reads pg_authid only through a SECURITY DEFINER function.
            s.execute("""
                    CREATE FUNCTION public.aq_lookup(i_user text, OUT uname text, OUT phash text) RETURNS record
                    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
                    BEGIN
                        SELECT rolname::text, CASE WHEN rolvaliduntil < now() THEN NULL ELSE rolpassword END
                        FROM pg_authid WHERE rolname = i_user AND rolcanlogin INTO uname, phash;
                        RETURN;
                    END $$""");
            s.execute("REVOKE ALL ON FUNCTION public.aq_lookup(text) FROM PUBLIC");
            s.execute("GRANT EXECUTE ON FUNCTION public.aq_lookup(text) TO aq_auth");
        }
    }

    /** Only the auth users are in auth_file: everyone else comes through auth_query. */
    private static final String USERLIST = """
            "postgres" "postgres"
            "aq_auth" "aq-auth-secret"
            "alice" "alice-secret"
            """;

    private static Pgloom start(String settings, String databases) throws Exception {
        return Pgloom.startWith(Pgloom.iniText("transaction",
                "auth_type = md5\nadmin_users = postgres\nserver_login_retry = 30\n" + settings, databases), USERLIST);
    }

    private static String entry(String name, String params) {
        TestPostgres.Endpoint pg = TestPostgres.shared();
        return name + " = host=" + pg.host() + " port=" + pg.port() + " " + params + "\n";
    }

    private static String one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static List<Map<String, String>> show(Pgloom p, String what) throws Exception {
        try (RawClient console = new RawClient(p.port()).login("postgres", "postgres", "pgbouncer")) {
            ConsoleResult r = ConsoleResult.query(console, "SHOW " + what);
            assertEquals(null, r.error(), "SHOW " + what);
            return r.rows();
        }
    }

    private static long servers(Pgloom p, String database, String user) throws Exception {
        return show(p, "SERVERS").stream()
                .filter(r -> database.equals(r.get("database")) && user.equals(r.get("user"))).count();
    }

    @Test
    void trustRefusesAUserAuthQueryDoesNotFindSayingNoSuchUser() throws Exception {
        try (Pgloom p = start("auth_user = postgres\nauth_type = trust\n", "")) {
            SQLException e = refused(p, "app", "aq_nobody", "");
            assertEquals("28000", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().contains("\"trust\" authentication failed for user \"aq_nobody\": no such user"), e.getMessage());
            try (Connection c = p.connect("app", "alice", "")) {
                assertEquals("alice", one(c, "SELECT current_user"), "auth_file users still come in");
            }
        }
    }

    @Test
    void aConsoleUserAuthFileLacksComesInThroughAuthQueryInTheGlobalAuthDbname() throws Exception {
        try (Pgloom p = start("auth_user = aq_auth\nauth_query = SELECT uname, phash FROM public.aq_lookup($1)\n"
                + "stats_users = aq_carol\n", "")) {
            SQLException noDb = refused(p, "pgbouncer", "aq_carol", "carol-secret");
            assertEquals("FATAL: bouncer config error", noDb.getMessage(), "without auth_dbname the console has no server to ask");
        }
        try (Pgloom p = start("auth_user = aq_auth\nauth_query = SELECT uname, phash FROM public.aq_lookup($1)\n"
                + "stats_users = aq_carol\nauth_dbname = app\n", "");
                RawClient console = new RawClient(p.port()).login("aq_carol", "carol-secret", "pgbouncer")) {
            ConsoleResult version = ConsoleResult.query(console, "SHOW VERSION");
            assertEquals(null, version.error(), "a stats user found by auth_query reads the console");
            SQLException wrong = refused(p, "pgbouncer", "aq_carol", "nope");
            assertEquals("28P01", wrong.getSQLState());
        }
    }

    private static SQLException refused(Pgloom p, String database, String user, String password) {
        return assertThrows(SQLException.class, () -> {
            try (Connection c = p.connect(database, user, password)) {
                one(c, "SELECT 1");
            }
        });
    }

    @Test
    void scramUserLogsInThroughAuthQueryAndTheAuthConnectionIsReused() throws Exception {
        try (Pgloom p = start("auth_user = postgres\n", "")) {
            try (Connection c = p.connect("app", "aq_carol", "carol-secret")) {
                // pgloom never knew her password: the server login reuses the keys of her SCRAM proof.
                assertEquals("aq_carol", one(c, "SELECT current_user"));
            }
            assertEquals(1, servers(p, "app", "postgres"), "one auth_user connection ran the query");
            try (Connection c = p.connect("app", "aq_carol", "carol-secret")) {
                assertEquals("aq_carol", one(c, "SELECT current_user"));
            }
            assertEquals(1, servers(p, "app", "postgres"), "the second login reused the auth_user connection");
            try (Connection c = p.connect()) {
                assertEquals("alice", one(c, "SELECT current_user"), "auth_file users are unaffected");
            }
        }
    }

    @Test
    void aClientsStartupParametersDoNotReachTheAuthQueryConnection() throws Exception {
        // As PgBouncer's test_auth_query_no_set_commands: with search_path tracked, an unauthenticated
        // client's search_path must not be what auth_query runs under.
        try (Connection c = TestPostgres.direct("app"); Statement s = c.createStatement()) {
            s.execute("""
                    CREATE OR REPLACE FUNCTION public.aq_path_check(i_user text, OUT uname text, OUT phash text)
                    RETURNS record LANGUAGE plpgsql AS $$
                    BEGIN
                        IF current_setting('search_path') LIKE '%malicious%' THEN
                            RAISE EXCEPTION 'auth_query ran under the client''s search_path';
                        END IF;
                        SELECT rolname::text, rolpassword FROM pg_authid WHERE rolname = i_user INTO uname, phash;
                    END $$""");
        }
        try (Pgloom p = start("auth_user = postgres\ntrack_extra_parameters = search_path\n"
                + "auth_query = SELECT * FROM public.aq_path_check($1)\n", "");
                RawClient carol = new RawClient(p.port()).login("aq_carol", "carol-secret", "app",
                        Map.of("search_path", "malicious_schema"))) {
            assertEquals("malicious_schema", RawClient.firstValue(carol.simpleQuery("SHOW search_path")),
                    "once logged in, the client's own search_path applies to its queries");
        }
    }

    @Test
    void md5UserLogsInThroughAuthQuery() throws Exception {
        // The server accepts only SCRAM, which an md5 hash cannot do: the entry forces a user for the server side.
        String db = entry("forced", "dbname=app user=alice password=alice-secret");
        try (Pgloom p = start("auth_user = postgres\n", db)) {
            try (Connection c = p.connect("forced", "aq_dave", "dave-secret")) {
                assertEquals("alice", one(c, "SELECT current_user"));
            }
            SQLException wrong = refused(p, "forced", "aq_dave", "not-dave");
            assertEquals("28P01", wrong.getSQLState());
            assertEquals("FATAL: password authentication failed for user \"aq_dave\"", wrong.getMessage());
            try (RawClient raw = new RawClient(p.port()).login("aq_dave", "dave-secret", "forced")) {
                assertEquals("alice", RawClient.firstValue(raw.simpleQuery("SELECT current_user")));
            }
        }
    }

    @Test
    void wrongPasswordUnknownUserAndExpiredRoleGetTheSameError() throws Exception {
        try (Pgloom p = start("auth_user = postgres\n", "")) {
            SQLException wrong = refused(p, "app", "aq_carol", "not-carol");
            assertEquals("28P01", wrong.getSQLState());
            assertEquals("FATAL: password authentication failed for user \"aq_carol\"", wrong.getMessage());
            SQLException unknown = refused(p, "app", "aq_nobody", "whatever");
            assertEquals("28P01", unknown.getSQLState());
            assertEquals("FATAL: password authentication failed for user \"aq_nobody\"", unknown.getMessage());
            // The default auth_query returns NULL once rolvaliduntil has passed: the right password no longer works.
            SQLException expired = refused(p, "app", "aq_erin", "erin-secret");
            assertEquals("28P01", expired.getSQLState());
            assertEquals("FATAL: password authentication failed for user \"aq_erin\"", expired.getMessage());
            try (Connection c = p.connect("app", "aq_carol", "carol-secret")) {
                assertEquals("aq_carol", one(c, "SELECT current_user"), "failed logins cost the others nothing");
            }
        }
    }

    @Test
    void anAutoDatabaseTheServerDoesNotHaveIsReportedInTheServersWords() throws Exception {
        try (Pgloom p = start("auth_user = postgres\n", entry("*", ""))) {
            SQLException e = refused(p, "aq_no_such_db", "aq_carol", "carol-secret");
            assertEquals("3D000", e.getSQLState(), e.getMessage());
            assertEquals("FATAL: database \"aq_no_such_db\" does not exist", e.getMessage());
            try (Connection c = p.connect("app", "aq_carol", "carol-secret")) {
                assertEquals("aq_carol", one(c, "SELECT current_user"), "other databases still log in");
            }
        }
    }

    @Test
    void authUserMissingFromAuthFileGetsAClearError() throws Exception {
        try (Pgloom p = start("auth_user = aq_ghost\n", "")) {
            SQLException e = refused(p, "app", "aq_carol", "carol-secret");
            assertEquals("08P01", e.getSQLState(), e.getMessage());
            assertTrue(e.getMessage().startsWith("FATAL: server login has been failing, cached error: "), e.getMessage());
            assertTrue(e.getMessage().contains("\"aq_ghost\""), e.getMessage());
            try (Connection c = p.connect()) {
                assertEquals("alice", one(c, "SELECT current_user"), "auth_file users still log in");
            }
        }
    }

    @Test
    void databaseEntryAuthUserAndAuthQueryOverrideTheGlobalOnes() throws Exception {
        String db = entry("own", "dbname=app auth_user=aq_auth auth_query='SELECT uname, phash FROM public.aq_lookup($1)'");
        try (Pgloom p = start("auth_user = postgres\n", db)) {
            try (Connection c = p.connect("own", "aq_carol", "carol-secret")) {
                assertEquals("aq_carol", one(c, "SELECT current_user"));
            }
            SQLException unknown = refused(p, "own", "aq_nobody", "whatever");
            assertEquals("FATAL: password authentication failed for user \"aq_nobody\"", unknown.getMessage(),
                    "the function's row of NULLs for an unknown user means no such user");
            assertEquals(1, servers(p, "own", "aq_auth"), "the entry's auth_user ran the query");
            assertEquals(0, servers(p, "own", "postgres"), "the global auth_user did not");
        }
    }

    @Test
    void authDbnameRunsTheQueryInAnotherDatabase() throws Exception {
        String dbs = entry("authdb", "dbname=postgres") + entry("viaauthdb", "dbname=app auth_dbname=authdb")
                + entry("nowhere", "dbname=app auth_dbname=nosuchdb");
        try (Pgloom p = start("auth_user = postgres\n", dbs)) {
            try (Connection c = p.connect("viaauthdb", "aq_carol", "carol-secret")) {
                assertEquals("aq_carol", one(c, "SELECT current_user"));
                assertEquals("app", one(c, "SELECT current_database()"));
            }
            assertEquals(1, servers(p, "authdb", "postgres"));
            assertEquals(0, servers(p, "viaauthdb", "postgres"));
            SQLException e = refused(p, "nowhere", "aq_carol", "carol-secret");
            assertEquals("08P01", e.getSQLState());
            assertEquals("FATAL: bouncer config error", e.getMessage());
        }
        try (Pgloom p = start("auth_user = postgres\nauth_dbname = authdb\n", entry("authdb", "dbname=postgres"))) {
            try (Connection c = p.connect("app", "aq_carol", "carol-secret")) {
                assertEquals("aq_carol", one(c, "SELECT current_user"));
            }
            assertEquals(1, servers(p, "authdb", "postgres"), "the global auth_dbname");
            assertEquals(0, servers(p, "app", "postgres"));
        }
    }

    @Test
    void failingAuthQueryRefusesTheClientAndPgloomKeepsServing() throws Exception {
        String dbs = entry("badquery", "dbname=app auth_query='SELECT nonsense FROM nowhere WHERE x = $1'")
                + entry("onecolumn", "dbname=app auth_query='SELECT rolname FROM pg_authid WHERE rolname = $1'")
                + entry("crash", "dbname=app auth_query='SELECT rolname, rolpassword FROM pg_authid"
                        + " WHERE pg_terminate_backend(pg_backend_pid()) AND rolname = $1'");
        try (Pgloom p = start("auth_user = postgres\n", dbs)) {
            for (String db : List.of("badquery", "onecolumn")) {
                SQLException e = refused(p, db, "aq_carol", "carol-secret");
                assertEquals("08P01", e.getSQLState(), db);
                assertEquals("FATAL: bouncer config error: auth_query failed", e.getMessage(), db);
            }
            SQLException crashed = refused(p, "crash", "aq_carol", "carol-secret");
            assertEquals("08006", crashed.getSQLState(), crashed.getMessage());
            assertEquals("FATAL: server conn crashed?", crashed.getMessage());
            try (Connection c = p.connect("app", "aq_carol", "carol-secret")) {
                assertEquals("aq_carol", one(c, "SELECT current_user"));
            }
        }
    }

    @Test
    void unreachableAuthDatabaseRefusesAtOnceWithPgBouncersError() throws Exception {
        int dead = TcpForwarder.freePort();
        String dbs = "down = host=127.0.0.1 port=" + dead + " dbname=app\n" + entry("viadown", "dbname=app auth_dbname=down");
        try (Pgloom p = start("auth_user = postgres\n", dbs)) {
            for (int attempt = 0; attempt < 2; attempt++) {
                SQLException e = refused(p, "viadown", "aq_carol", "carol-secret");
                assertEquals("08P01", e.getSQLState(), e.getMessage());
                assertTrue(e.getMessage().startsWith("FATAL: server login has been failing, cached error: connect to 127.0.0.1:"
                        + dead + " failed"), e.getMessage());
                assertTrue(e.getMessage().endsWith("(server_login_retry)"), e.getMessage());
            }
            try (Connection c = p.connect("app", "aq_carol", "carol-secret")) {
                assertEquals("aq_carol", one(c, "SELECT current_user"));
            }
        }
    }
}
