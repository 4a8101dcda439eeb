package io.pgloom.tests;

import io.pgloom.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * A real primary and streaming standbys of its own (not the shared test server), for the failover
 * tests. The standbys are made as the design notes say: the primary is stopped cleanly, its data
 * directory copied, {@code standby.signal} added, and each copy started with a
 * {@code primary_conninfo} that points at the primary. Superuser postgres/postgres, scram-sha-256
 * for host connections, database {@code app}, synchronous_commit on everywhere.
 */
final class ReplicaSet implements AutoCloseable {
    static final String PASSWORD = "postgres";

    private final Path parent;
    private final List<EmbeddedPostgres> servers = new ArrayList<>();

    private ReplicaSet(Path parent) {
        this.parent = parent;
    }

    /**
     * A primary and {@code standbys} standbys, each streaming from the primary; returns once they
     * all stream. {@code primarySettings} (name, value, ...) are reloadable settings of the primary,
     * set by ALTER SYSTEM once the standbys stream.
     */
    static ReplicaSet start(int standbys, String... primarySettings) throws IOException, SQLException, InterruptedException {
        return start(standbys, false, primarySettings);
    }

    /** As {@link #start(int, String...)}; with {@code slots}, standby i streams through physical slot {@code standby<i>}. */
    static ReplicaSet start(int standbys, boolean slots, String... primarySettings)
            throws IOException, SQLException, InterruptedException {
        Path parent = Files.createTempDirectory("pgloom-replicas-");
        // The server's account (not root) must reach the data directories below.
        Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwx--x--x"));
        ReplicaSet set = new ReplicaSet(parent);
        try {
            EmbeddedPostgres.Builder b = EmbeddedPostgres.builder()
                    .dataDirectory(parent.resolve("pg0"))
                    .superuserPassword(PASSWORD)
                    .hostAuthMethod("scram-sha-256")
                    .setting("max_connections", "100")
                    .setting("wal_keep_size", "256MB")
                    // The fixture's default is off, which acknowledges commits before their WAL is
                    // written: nothing a failover test could count on.
                    .setting("synchronous_commit", "on")
                    .bootstrapSql("CREATE DATABASE app");
            EmbeddedPostgres primary = b.start();
            set.servers.add(primary);
            primary.stop();
            for (int i = 1; i <= standbys; i++) {
                Path copy = parent.resolve("pg" + i);
                copyTree(primary.dataDirectory(), copy);
                Files.createFile(copy.resolve("standby.signal"));
            }
            primary.restart();
            for (int i = 1; i <= standbys; i++) {
                EmbeddedPostgres.Builder standby = EmbeddedPostgres.builder()
                        .dataDirectory(parent.resolve("pg" + i))
                        .setting("primary_conninfo", conninfo(primary, "standby" + i))
                        .setting("synchronous_commit", "on");
                if (slots) {
                    set.execute(0, "SELECT pg_create_physical_replication_slot('standby" + i + "', true)");
                    standby.setting("primary_slot_name", "standby" + i);
                }
                set.servers.add(standby.start());
            }
            set.awaitReplaying(Duration.ofSeconds(30));
            // Reloadable settings, set once the standbys stream: synchronous_standby_names in the
            // bootstrap's single-user mode would wait forever for a standby.
            for (int i = 0; i + 1 < primarySettings.length; i += 2) {
                set.execute(0, "ALTER SYSTEM SET " + primarySettings[i] + " = '" + primarySettings[i + 1].replace("'", "''") + "'");
            }
            if (primarySettings.length > 0) {
                set.query(0, "SELECT pg_reload_conf()");
            }
            return set;
        } catch (IOException | SQLException | InterruptedException | RuntimeException e) {
            set.close();
            throw e;
        }
    }

    static String conninfo(EmbeddedPostgres primary, String name) {
        return "host=127.0.0.1 port=" + primary.port() + " user=postgres password=" + PASSWORD + " application_name=" + name;
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path p : paths.toList()) {
                if (p.getFileName().toString().equals("postmaster.pid")) {
                    continue;
                }
                Files.copy(p, to.resolve(from.relativize(p).toString()));
            }
        }
    }

    /** Server {@code i}: 0 is the first primary, 1.. the standbys made from it. */
    EmbeddedPostgres server(int i) {
        return servers.get(i);
    }

    int size() {
        return servers.size();
    }

    /** {@code host=...} and {@code port=...} for a [databases] entry over every server, in order. */
    String hostsAndPorts() {
        StringBuilder hosts = new StringBuilder();
        StringBuilder ports = new StringBuilder();
        for (EmbeddedPostgres pg : servers) {
            hosts.append(hosts.isEmpty() ? "" : ",").append("127.0.0.1");
            ports.append(ports.isEmpty() ? "" : ",").append(pg.port());
        }
        return "host=" + hosts + " port=" + ports;
    }

    /** A direct superuser connection to server {@code i}. */
    Connection direct(int i, String database) throws SQLException {
        return DriverManager.getConnection(servers.get(i).jdbcUrl(database), "postgres", PASSWORD);
    }

    String query(int i, String sql) throws SQLException {
        try (Connection c = direct(i, "app"); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    void execute(int i, String sql) throws SQLException {
        try (Connection c = direct(i, "app"); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    /** Waits until every standby streams from the primary (server 0). */
    void awaitReplaying(Duration limit) throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + limit.toNanos();
        int standbys = servers.size() - 1;
        while (true) {
            String streaming = query(0, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'");
            if (Integer.parseInt(streaming) >= standbys) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(streaming + " of " + standbys + " standbys streaming after " + limit);
            }
            Thread.sleep(100);
        }
    }

    /** Waits until every standby replayed all the primary (server 0) wrote so far. */
    void awaitCaughtUp(Duration limit) throws SQLException, InterruptedException {
        String target = query(0, "SELECT pg_current_wal_lsn()");
        long deadline = System.nanoTime() + limit.toNanos();
        for (int i = 1; i < servers.size(); i++) {
            while (!"t".equals(query(i, "SELECT pg_last_wal_replay_lsn() >= '" + target + "'::pg_lsn"))) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("standby " + i + " did not replay to " + target + " within " + limit);
                }
                Thread.sleep(20);
            }
        }
    }

    @Override
    public void close() {
        for (EmbeddedPostgres pg : servers.reversed()) {
            pg.close();
        }
        try (Stream<Path> paths = Files.walk(parent)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // a leftover temp directory is harmless
        }
    }
}
