package io.pgloom.server.cli;

import io.pgloom.config.ConfigException;
import io.pgloom.server.PgloomServer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code pgloom run CONFIG.ini}: the pooler in the foreground. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run the pooler with a pgbouncer.ini.",
            "SIGHUP reloads the config (a broken file is refused and the old config keeps serving);",
            "SIGTERM stops accepting and exits once every client has disconnected; SIGINT once every",
            "server connection is released; a second SIGTERM/SIGINT exits at once.",
            "SIGUSR1 pauses every database, SIGUSR2 resumes them."})
final class RunCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(RunCommand.class);
    private static volatile boolean running;

    @Parameters(index = "0", paramLabel = "CONFIG.ini", description = "pgbouncer.ini to run with")
    Path config;

    @Option(names = "--shutdown-wait", defaultValue = "30", paramLabel = "SECONDS",
            description = "When the JVM is stopped otherwise than by a signal pgloom handles: how long it waits"
                    + " for open transactions (default: ${DEFAULT-VALUE})")
    int shutdownWaitSeconds = 30;

    @Mixin
    PgBouncerFlags flags = new PgBouncerFlags();

    static boolean keepsRunning() {
        return running;
    }

    @Override
    public Integer call() throws Exception {
        Integer handedOver = flags.before(config, List.of("--shutdown-wait", Integer.toString(shutdownWaitSeconds)));
        if (handedOver != null) {
            return handedOver;
        }
        SignalHandlers signals = SignalHandlers.install();
        PgloomServer server;
        try {
            server = PgloomServer.start(config);
        } catch (ConfigException e) {
            System.err.println("pgloom: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            // logged, not only thrown: a daemon's stderr is /dev/null, its logfile is where -d looks
            log.error("pgloom could not start: {}", e.toString());
            return 1;
        }
        signals.serve(server);
        // The signals pgloom handles end in awaitClosed below and exit 0, as PgBouncer does; this hook
        // is for the other ways a JVM ends (System.exit from elsewhere, a signal the JVM handles).
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("shutdown").unstarted(() -> {
            if (!server.isClosed()) {
                server.shutdown(Duration.ofSeconds(shutdownWaitSeconds));
            }
        }));
        running = true;
        log.info("pgloom running with {} on port {}", config, server.port());
        // SHUTDOWN on the admin console or a signal closes the server.
        server.awaitClosed();
        log.info("pgloom stopped");
        return 0;
    }
}
