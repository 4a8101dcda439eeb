package io.pgloom.server.cli;

import io.pgloom.embedded.EmbeddedPostgres;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pgloom postgres}: the demo's throwaway PostgreSQL on its own, in the foreground. The
 * benchmark uses it so that pgloom, PgBouncer and direct runs hit one and the same server.
 */
@Command(name = "postgres", mixinStandardHelpOptions = true,
        description = {"Run a throwaway PostgreSQL (binaries from Maven Central) in a temp directory, in the foreground.",
            "Prints 'ready <port>' when it accepts connections; Ctrl-C stops it and removes the directory."})
final class PostgresCommand implements Callable<Integer> {

    @Option(names = "--port", defaultValue = "0", description = "port (default: a free one)")
    int port;

    @Option(names = "--password", defaultValue = "postgres", description = "password of the superuser 'postgres' (default: ${DEFAULT-VALUE})")
    String password = "postgres";

    @Option(names = "--auth", defaultValue = "scram-sha-256", description = "pg_hba method for host connections (default: ${DEFAULT-VALUE})")
    String auth = "scram-sha-256";

    @Option(names = "--max-connections", defaultValue = "300", description = "max_connections (default: ${DEFAULT-VALUE})")
    int maxConnections = 300;

    @Option(names = "--tls", arity = "2", paramLabel = "FILE",
            description = "turn ssl on with this certificate and key (PEM), e.g. from 'pgloom cert dev'")
    java.nio.file.Path[] tls;

    @Override
    public Integer call() throws Exception {
        EmbeddedPostgres.Builder b = EmbeddedPostgres.builder()
                .port(port)
                .superuserPassword(password)
                .hostAuthMethod(auth)
                .setting("max_connections", String.valueOf(maxConnections));
        if (tls != null) {
            b.tls(tls[0], tls[1], null);
        }
        EmbeddedPostgres pg = b.start();
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().unstarted(() -> {
            pg.close();
            stopped.countDown();
        }));
        System.out.println("ready " + pg.port());
        System.out.flush();
        stopped.await();
        return 0;
    }
}
