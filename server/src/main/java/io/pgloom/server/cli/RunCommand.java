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
import sun.misc.Signal;

/** {@code pgloom run CONFIG.ini}: the pooler in the foreground. */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Run the pooler with a pgbouncer.ini.",
            "SIGHUP reloads the config (a broken file is refused and the old config keeps serving);",
            "SIGINT/SIGTERM stop accepting, let open transactions finish (up to --shutdown-wait), then exit."})
final class RunCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(RunCommand.class);
    private static volatile boolean running;

    @Parameters(index = "0", paramLabel = "CONFIG.ini", description = "pgbouncer.ini to run with")
    Path config;

    @Option(names = "--shutdown-wait", defaultValue = "30", paramLabel = "SECONDS",
            description = "How long SIGINT/SIGTERM waits for open transactions (default: ${DEFAULT-VALUE})")
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
        Signal.handle(new Signal("HUP"), s -> server.reload());
        // SIGINT/SIGTERM run this hook; the JVM then exits with 128 + the signal number (130, 143),
        // whatever call() returns. ProcessTest checks both.
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("shutdown").unstarted(() -> {
            server.shutdown(Duration.ofSeconds(shutdownWaitSeconds));
        }));
        running = true;
        log.info("pgloom running with {} on port {}", config, server.port());
        // SHUTDOWN on the admin console closes the server; a signal's hook does too, then waits for the hook.
        server.awaitClosed();
        log.info("pgloom stopped");
        return 0;
    }
}
