package io.pgloom.server.cli;

import io.pgloom.server.PgloomServer;
import io.pgloom.server.control.Pooler;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * PgBouncer 1.23+'s signals, for {@code pgloom run} only: a pooler started inside another program
 * (the tests, an embedding application) leaves that program's signals alone.
 *
 * <p>SIGQUIT is not among them. HotSpot keeps it for thread dumps and for starting {@code jcmd}'s
 * attach listener, and refuses to hand it to Java; {@code -Xrs} frees it for a native handler only,
 * and also stops every Java signal handler from being called. An FFM upcall installed as that
 * native handler crashes the JVM ("wrong thread state for upcall") when the signal lands on a
 * thread running Java code, so it would take native code of pgloom's own.
 *
 * <p>HotSpot also suspends threads with SIGUSR2 unless {@code _JAVA_SR_SIGNUM}
 * moves that elsewhere, which the launcher does; without it, taking SIGUSR2 would break thread
 * suspension (JFR sampling, profilers), so RESUME by signal is then left out with a warning.
 */
final class SignalHandlers {
    private static final Logger log = LoggerFactory.getLogger(SignalHandlers.class);
    /** HotSpot's default suspend/resume signal on Linux: SIGUSR2. */
    private static final String HOTSPOT_SUSPEND_SIGNAL = "12";

    private SignalHandlers() {
    }

    static void install(PgloomServer server) {
        AtomicBoolean shuttingDown = new AtomicBoolean();
        on("HUP", "reloading the config", server::reload);
        on("TERM", "super safe shutdown: no new clients; exiting once every client has disconnected",
                () -> shutdown(server, shuttingDown, Pooler.ShutdownMode.WAIT_FOR_CLIENTS, "SIGTERM"));
        on("INT", "safe shutdown: no new clients; exiting once every server connection is released",
                () -> shutdown(server, shuttingDown, Pooler.ShutdownMode.WAIT_FOR_SERVERS, "SIGINT"));
        on("USR1", "pausing every database (PAUSE)", () -> server.pooler().pause(null));
        String suspendSignal = System.getenv("_JAVA_SR_SIGNUM");
        if (suspendSignal == null || suspendSignal.strip().equals(HOTSPOT_SUSPEND_SIGNAL)) {
            log.warn("SIGUSR2 (RESUME) is not handled: the JVM suspends threads with it; run pgloom with"
                    + " _JAVA_SR_SIGNUM set to another signal, as the ./pgloom launcher does");
        } else {
            on("USR2", "resuming every database (RESUME)", () -> server.pooler().resume(null));
        }
    }

    /** A second SIGTERM or SIGINT during a shutdown ends it at once, as in PgBouncer. */
    private static void shutdown(PgloomServer server, AtomicBoolean shuttingDown, Pooler.ShutdownMode mode,
            String signal) {
        if (shuttingDown.compareAndSet(false, true)) {
            server.shutdown(mode, signal);
        } else {
            log.info("{} during the shutdown: closing every connection now", signal);
            server.close();
        }
    }

    private static void on(String signal, String action, Runnable handler) {
        SignalHandler before = Signal.handle(new Signal(signal), s -> {
            log.info("SIG{}: {}", signal, action);
            handler.run();
        });
        // The JVM keeps a signal ignored that pgloom was started with ignored (nohup ignores SIGHUP, a
        // shell's background job SIGINT); an operator sending it would otherwise see nothing happen.
        if (before == SignalHandler.SIG_IGN) {
            log.warn("SIG{} is ignored: pgloom was started with it ignored (nohup, a background job)", signal);
        }
    }
}
