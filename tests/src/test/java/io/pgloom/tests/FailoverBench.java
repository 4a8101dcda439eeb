package io.pgloom.tests;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Failover figures for bench/RESULTS.md, not a test: not matched by surefire's test patterns, run
 * by {@code bench/failover.sh}. Prints, never asserts a time.
 *
 * <ul>
 *   <li>Time from kill -9 of the primary to the first write acknowledged by the new primary,
 *       RUNS times, with the [failover] defaults and promote = on; and again with promote = off
 *       and the standby promoted by "an outside tool" (this class) right after the kill.</li>
 *   <li>pgbench -S through a prefer-standby entry over one standby and over two.</li>
 * </ul>
 */
class FailoverBench {
    static final int RUNS = Integer.getInteger("failover.runs", 5);

    static String ini(ReplicaSet set, String failover) {
        return """
                [databases]
                app = %1$s dbname=app target_session_attrs=read-write
                app_ro = %1$s dbname=app target_session_attrs=prefer-standby
                [pgbouncer]
                %2$s
                query_wait_timeout = 60
                admin_users = postgres
                [failover]
                %3$s
                """.formatted(set.hostsAndPorts(), Pgloom.baseSettings("transaction"), failover);
    }

    /** One run: kill the primary under a writer; returns ms from the kill to the first ack after it. */
    static long failoverMillis(boolean promote) throws Exception {
        try (ReplicaSet set = ReplicaSet.start(1);
                Pgloom p = Pgloom.startWith(ini(set, promote ? "promote = on" : ""), Pgloom.defaultUserlist())) {
            try (Connection c = p.connect("app", "postgres", "postgres"); Statement st = c.createStatement()) {
                st.execute("CREATE TABLE ledger (id bigint PRIMARY KEY)");
            }
            AtomicLong lastAck = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            Thread writer = Thread.ofVirtual().start(() -> {
                try (Connection c = p.connect("app", "postgres", "postgres");
                        PreparedStatement insert = c.prepareStatement("INSERT INTO ledger VALUES (?)")) {
                    long id = 0;
                    while (!stop.get()) {
                        try {
                            insert.setLong(1, ++id);
                            insert.executeUpdate();
                            lastAck.set(System.nanoTime());
                        } catch (SQLException e) {
                            Thread.sleep(10);
                        }
                    }
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            });
            Thread.sleep(2000); // steady writes, probes settled
            long killed = System.nanoTime();
            set.server(0).kill();
            long gone = System.nanoTime();
            if (!promote) {
                set.query(1, "SELECT pg_promote(true, 60)"); // the outside tool, at once
            }
            while (lastAck.get() - gone <= 0 && System.nanoTime() - killed < TimeUnit.SECONDS.toNanos(60)) {
                Thread.sleep(5);
            }
            stop.set(true);
            writer.join();
            return lastAck.get() - gone > 0 ? TimeUnit.NANOSECONDS.toMillis(lastAck.get() - killed) : -1;
        }
    }

    static long median(List<Long> values) {
        List<Long> sorted = values.stream().sorted().toList();
        return sorted.get(sorted.size() / 2);
    }

    @Test
    void failoverTimes() throws Exception {
        for (boolean promote : new boolean[] {true, false}) {
            List<Long> times = new ArrayList<>();
            for (int i = 0; i < RUNS; i++) {
                times.add(failoverMillis(promote));
            }
            System.out.printf("BENCH failover %s: median %d ms, runs %s (ms from kill -9 to the first acknowledged write)%n",
                    promote ? "promote = on (defaults: probe_interval 1 s, probe_timeout 2 s, primary_grace 3 s)"
                            : "promote = off, standby promoted right after the kill", median(times), times);
        }
    }

    /** pgbench -S through app_ro with {@code standbys} standbys; returns tps. */
    static double readTps(int standbys, Path pgbench) throws Exception {
        try (ReplicaSet set = ReplicaSet.start(standbys);
                Pgloom p = Pgloom.startWith(ini(set, "") .replace("default_pool_size = 5", "default_pool_size = 20"),
                        Pgloom.defaultUserlist())) {
            Map<String, String> env = Map.of("PGPASSWORD", ReplicaSet.PASSWORD);
            run(List.of(pgbench.toString(), "-i", "-s", "10", "-q", "-h", "127.0.0.1", "-p", Integer.toString(set.server(0).port()),
                    "-U", "postgres", "app"), env);
            set.awaitCaughtUp(Duration.ofSeconds(60));
            run(List.of(pgbench.toString(), "-S", "-n", "-T", "5", "-c", "10", "-j", "2", "-h", "127.0.0.1", "-p",
                    Integer.toString(p.port()), "-U", "postgres", "app_ro"), env); // warm-up
            String out = run(List.of(pgbench.toString(), "-S", "-n", "-T", "15", "-c", "10", "-j", "2", "-h", "127.0.0.1",
                    "-p", Integer.toString(p.port()), "-U", "postgres", "app_ro"), env);
            for (String line : out.split("\n")) {
                if (line.startsWith("tps = ")) {
                    return Double.parseDouble(line.substring(6).split(" ")[0]);
                }
            }
            throw new AssertionError("no tps in pgbench output:\n" + out);
        }
    }

    static String run(List<String> command, Map<String, String> env) throws Exception {
        ProcessBuilder b = new ProcessBuilder(command).redirectErrorStream(true);
        b.environment().putAll(env);
        b.environment().put("PGSSLMODE", "disable");
        Process proc = b.start();
        String out = new String(proc.getInputStream().readAllBytes());
        if (proc.waitFor() != 0) {
            throw new AssertionError(command + " failed:\n" + out);
        }
        return out;
    }

    @Test
    void preferStandbyReadsOverOneAndTwoStandbys() throws Exception {
        Path pgbench = Path.of(System.getProperty("pgbench", "pgbench"));
        if (!pgbench.isAbsolute()) {
            pgbench = java.util.stream.Stream.of(System.getenv("PATH").split(":")).map(d -> Path.of(d, "pgbench"))
                    .filter(Files::isExecutable).findFirst().orElseThrow(() -> new AssertionError("pgbench not on PATH"));
        }
        double one = readTps(1, pgbench);
        double two = readTps(2, pgbench);
        System.out.printf("BENCH prefer-standby pgbench -S -c 10 -j 2 -T 15: 1 standby %.0f tps, 2 standbys %.0f tps (%.2fx)%n",
                one, two, two / one);
    }
}
