package io.pgloom.tests;

import io.pgloom.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The PostgreSQL server the integration tests talk to: one per test JVM, started on first use.
 *
 * <p>Provider: the embedded binaries from Maven Central (root-safe, no Docker needed) by default.
 * With {@code -Dpgloom.test.postgres=testcontainers} and a Docker engine, a Testcontainers
 * PostgreSQL is used instead (see {@link ContainerPostgres}).
 *
 * <p>Roles: {@code postgres} (superuser), and for auth tests {@code alice} (password
 * {@code alice-secret}); database {@code app}. Host connections use scram-sha-256.
 */
public final class TestPostgres {
    public static final String SUPERUSER = "postgres";
    public static final String SUPERUSER_PASSWORD = "postgres";
    public static final String DATABASE = "app";

    private static volatile Endpoint shared;

    /** Where a PostgreSQL listens. */
    public record Endpoint(String host, int port, AutoCloseable owner) {
        public String jdbcUrl(String database) {
            return "jdbc:postgresql://" + host + ":" + port + "/" + database;
        }
    }

    private TestPostgres() {
    }

    public static Endpoint shared() {
        Endpoint e = shared;
        if (e == null) {
            synchronized (TestPostgres.class) {
                e = shared;
                if (e == null) {
                    e = start();
                    shared = e;
                }
            }
        }
        return e;
    }

    private static Endpoint start() {
        if ("testcontainers".equals(System.getProperty("pgloom.test.postgres"))) {
            return ContainerPostgres.start();
        }
        try {
            EmbeddedPostgres pg = EmbeddedPostgres.builder()
                    .superuserPassword(SUPERUSER_PASSWORD)
                    .hostAuthMethod("scram-sha-256")
                    .setting("max_connections", "300")
                    .setting("wal_level", "logical") // ReplicationTest streams logical changes through pgloom
                    .bootstrapSql(bootstrap())
                    .start();
            return new Endpoint(pg.host(), pg.port(), pg);
        } catch (IOException e) {
            throw new IllegalStateException("could not start the embedded PostgreSQL: " + e.getMessage(), e);
        }
    }

    static String[] bootstrap() {
        return new String[] {
            "CREATE ROLE alice LOGIN PASSWORD 'alice-secret'",
            "CREATE ROLE bob LOGIN PASSWORD 'bob-secret'",
            "CREATE DATABASE app OWNER alice",
        };
    }

    /** A direct (not pooled) superuser connection, for checking what the server sees. */
    public static Connection direct(String database) throws SQLException {
        return DriverManager.getConnection(shared().jdbcUrl(database), SUPERUSER, SUPERUSER_PASSWORD);
    }

    public static void execute(String database, String sql) throws SQLException {
        try (Connection c = direct(database); Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }
}
