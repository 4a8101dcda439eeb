package io.pgloom.server.cli;

import io.pgloom.embedded.EmbeddedPostgres;
import io.pgloom.server.PgloomServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pgloom demo}: a real PostgreSQL (binaries from Maven Central) in a temp directory plus
 * pgloom in transaction mode in front of it. User demo is also an admin of the admin console, and
 * the /metrics, /health and /ready listener is on, so that every command the demo prints works.
 * Ctrl-C stops both and removes the temp directory.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Start a real PostgreSQL in a temp directory and pgloom in front of it (transaction mode),",
            "with user 'demo' (password 'demo', also an admin console user) and database 'demo',",
            "and the /metrics, /health and /ready listener on. Ctrl-C stops both and cleans up."})
final class DemoCommand implements Callable<Integer> {

    @Option(names = "--port", defaultValue = "6432", description = "pgloom's port (default: ${DEFAULT-VALUE})")
    int port = 6432;

    @Option(names = "--pool-mode", defaultValue = "transaction", description = "session, transaction or statement (default: ${DEFAULT-VALUE})")
    String poolMode = "transaction";

    @Option(names = "--pool-size", defaultValue = "20", description = "default_pool_size (default: ${DEFAULT-VALUE})")
    int poolSize = 20;

    @Option(names = "--metrics-port", defaultValue = "0",
            description = "port of /metrics, /health and /ready (default: 0, a free port, printed)")
    int metricsPort = 0;

    @Override
    public Integer call() throws Exception {
        Path dir = Files.createTempDirectory("pgloom-demo-");
        EmbeddedPostgres pg = null;
        PgloomServer server = null;
        AtomicReference<PgloomServer> started = new AtomicReference<>();
        try {
            System.out.println("starting PostgreSQL...");
            pg = EmbeddedPostgres.builder()
                    .hostAuthMethod("scram-sha-256")
                    .setting("max_connections", "200")
                    .bootstrapSql("CREATE ROLE demo LOGIN PASSWORD 'demo'", "CREATE DATABASE demo OWNER demo")
                    // Our hook below stops PostgreSQL, after pgloom: open transactions may finish first.
                    .closeOnExit(false)
                    .start();
            // From here on, Ctrl-C runs this hook: pgloom first, then PostgreSQL, then the files.
            CountDownLatch stopped = new CountDownLatch(1);
            EmbeddedPostgres runningPg = pg;
            Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> {
                System.out.println("\nstopping pgloom and PostgreSQL...");
                PgloomServer running = started.get();
                if (running != null) {
                    running.shutdown(Duration.ofSeconds(5));
                }
                runningPg.close();
                deleteTree(dir);
                stopped.countDown();
            }));
            Path userlist = dir.resolve("userlist.txt");
            Files.writeString(userlist, "\"demo\" \"demo\"\n");
            Path ini = dir.resolve("pgbouncer.ini");
            Files.writeString(ini, """
                    ;; written by `pgloom demo`: an ordinary pgbouncer.ini
                    [databases]
                    demo = host=127.0.0.1 port=%d dbname=demo
                    postgres = host=127.0.0.1 port=%d dbname=postgres

                    [pgbouncer]
                    listen_addr = 127.0.0.1
                    listen_port = %d
                    unix_socket_dir =
                    auth_type = scram-sha-256
                    auth_file = %s
                    pool_mode = %s
                    default_pool_size = %d
                    max_client_conn = 10000
                    ignore_startup_parameters = extra_float_digits,options
                    admin_users = demo
                    metrics_listen_addr = 127.0.0.1
                    metrics_listen_port = %d
                    """.formatted(pg.port(), pg.port(), port, userlist, poolMode, poolSize, metricsPort));
            server = PgloomServer.start(ini);
            started.set(server);
            int http = server.metricsPort().orElseThrow();
            System.out.printf("""

                    pgloom demo is ready (%s mode, pool size %d). PostgreSQL %s runs on port %d.

                      psql:    PGPASSWORD=demo psql -h 127.0.0.1 -p %d -U demo demo
                      pgbench: PGPASSWORD=demo pgbench -h 127.0.0.1 -p %d -U demo -i demo
                               PGPASSWORD=demo pgbench -h 127.0.0.1 -p %d -U demo -c 10 -T 10 demo
                      JDBC:    jdbc:postgresql://127.0.0.1:%d/demo?user=demo&password=demo
                      admin:   PGPASSWORD=demo psql -h 127.0.0.1 -p %d -U demo pgbouncer -c 'SHOW POOLS'
                      metrics: http://127.0.0.1:%d/metrics
                      health:  http://127.0.0.1:%d/health
                      ready:   http://127.0.0.1:%d/ready
                      config:  %s

                    Press Ctrl-C to stop PostgreSQL and pgloom and remove %s.
                    """, poolMode, poolSize, "17", pg.port(), port, port, port, port, port, http, http, http, ini, dir);
            stopped.await();
            return 0;
        } catch (Exception e) {
            started.set(null);
            if (server != null) {
                server.close();
            }
            if (pg != null) {
                pg.close();
            }
            deleteTree(dir);
            throw e;
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
