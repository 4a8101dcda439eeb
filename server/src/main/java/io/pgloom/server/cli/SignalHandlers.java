package io.pgloom.server.cli;

import io.pgloom.server.PgloomServer;
import io.pgloom.server.control.Pooler;
import com.sun.management.HotSpotDiagnosticMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * PgBouncer 1.23+'s signals, for {@code pgloom run} only: a pooler started inside another program
 * (the tests, an embedding application) leaves that program's signals alone.
 *
 * <p>SIGQUIT (immediate shutdown) reaches Java through {@link NativeSignals}, which re-raises it
 * as SIGPWR; SIGPWR sent directly does the same. The relay is installed only when the JVM's attach
 * listener already runs ({@code -XX:+StartAttachListener}, as the launcher sets): otherwise
 * {@code jcmd} would start it with a SIGQUIT, which would then stop the pooler.
 *
 * <p>HotSpot also suspends threads with SIGUSR2 unless {@code _JAVA_SR_SIGNUM}
 * moves that elsewhere, which the launcher does; without it, taking SIGUSR2 would break thread
 * suspension (JFR sampling, profilers), so RESUME by signal is then left out with a warning.
 */
final class SignalHandlers {
    private static final Logger log = LoggerFactory.getLogger(SignalHandlers.class);
    /** HotSpot's default suspend/resume signal on Linux: SIGUSR2. */
    private static final String HOTSPOT_SUSPEND_SIGNAL = "12";

    private final AtomicBoolean shuttingDown = new AtomicBoolean();
    private final List<Consumer<PgloomServer>> beforeStart = new ArrayList<>();
    private PgloomServer server;

    private SignalHandlers() {
    }

    /**
     * Installs the handlers before the server starts, so that no signal finds the JVM's defaults
     * once the listeners accept (PgBouncer's suite connects, then stops the pooler with SIGQUIT, as
     * soon as the port answers). A signal that comes before {@link #serve} is acted on right after it.
     */
    static SignalHandlers install() {
        SignalHandlers handlers = new SignalHandlers();
        handlers.on("HUP", "reloading the config", PgloomServer::reload);
        handlers.on("TERM", "super safe shutdown: no new clients; exiting once every client has disconnected",
                s -> handlers.shutdown(s, Pooler.ShutdownMode.WAIT_FOR_CLIENTS, "SIGTERM"));
        handlers.on("INT", "safe shutdown: no new clients; exiting once every server connection is released",
                s -> handlers.shutdown(s, Pooler.ShutdownMode.WAIT_FOR_SERVERS, "SIGINT"));
        handlers.installQuit();
        handlers.on("USR1", "pausing every database (PAUSE)", s -> s.pooler().pause(null));
        String suspendSignal = System.getenv("_JAVA_SR_SIGNUM");
        if (suspendSignal == null || suspendSignal.strip().equals(HOTSPOT_SUSPEND_SIGNAL)) {
            log.warn("SIGUSR2 (RESUME) is not handled: the JVM suspends threads with it; run pgloom with"
                    + " _JAVA_SR_SIGNUM set to another signal, as the ./pgloom launcher does");
        } else {
            handlers.on("USR2", "resuming every database (RESUME)", s -> {
                if (s.pooler().refusesNewClients()) {
                    log.info("got SIGUSR2 while shutting down, ignoring");
                } else {
                    s.pooler().resume(null);
                }
            });
        }
        return handlers;
    }

    /** The server is up: signals act on it from now on, the ones that came during start-up first. */
    void serve(PgloomServer started) {
        List<Consumer<PgloomServer>> pending;
        synchronized (this) {
            server = started;
            pending = List.copyOf(beforeStart);
            beforeStart.clear();
        }
        pending.forEach(action -> action.accept(started));
    }

    private void act(Consumer<PgloomServer> action) {
        PgloomServer now;
        synchronized (this) {
            now = server;
            if (now == null) {
                beforeStart.add(action);
                return;
            }
        }
        action.accept(now);
    }

    private void installQuit() {
        on(NativeSignals.RELAYED_TO, "QUIT", "immediate shutdown: closing every connection now", s -> {
            if (attachRequested()) {
                log.info("the SIGQUIT came with a JVM attach request (jcmd), not from an operator: pgloom keeps running");
                return;
            }
            shuttingDown.set(true);
            s.close();
        });
        if (!attachListenerStarted()) {
            log.warn("SIGQUIT stays the JVM's thread dump: run the JVM with -XX:+StartAttachListener, as the"
                    + " ./pgloom launcher does, for SIGQUIT to shut pgloom down at once (SIGPWR does it now)");
            return;
        }
        String refused = NativeSignals.relayQuit();
        if (refused != null) {
            log.warn("SIGQUIT stays the JVM's thread dump ({}); SIGPWR shuts pgloom down at once instead", refused);
        }
    }

    private static boolean attachListenerStarted() {
        var diagnostics = ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class);
        try {
            return diagnostics != null && Boolean.parseBoolean(diagnostics.getVMOption("StartAttachListener").getValue());
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** jcmd asks for the attach listener by creating .attach_pidPID in the JVM's directory or /tmp. */
    private static boolean attachRequested() {
        String file = ".attach_pid" + ProcessHandle.current().pid();
        return Files.exists(Path.of(file).toAbsolutePath()) || Files.exists(Path.of("/tmp", file));
    }

    /** A second SIGTERM or SIGINT during a shutdown ends it at once, as in PgBouncer. */
    private void shutdown(PgloomServer server, Pooler.ShutdownMode mode, String signal) {
        if (shuttingDown.compareAndSet(false, true)) {
            server.shutdown(mode, signal);
        } else {
            log.info("{} during the shutdown: closing every connection now", signal);
            server.close();
        }
    }

    private void on(String signal, String action, Consumer<PgloomServer> handler) {
        on(signal, signal, action, handler);
    }

    /** {@code shownAs}: the signal an operator sends, where pgloom relays it to {@code signal}. */
    private void on(String signal, String shownAs, String action, Consumer<PgloomServer> handler) {
        SignalHandler java = s -> {
            log.info("SIG{}: {}", shownAs, action);
            act(handler);
        };
        Signal sig = new Signal(signal);
        SignalHandler before = Signal.handle(sig, java);
        // The JVM leaves a signal ignored that pgloom was started with ignored (nohup ignores SIGHUP, a
        // shell's background job SIGINT). PgBouncer takes such signals anyway, and so does pgloom: it
        // sets the signal back to its default, then installs its handler.
        if (before == SignalHandler.SIG_IGN) {
            String failed = NativeSignals.restoreDefault(sig.getNumber());
            if (failed == null) {
                Signal.handle(sig, java);
                log.info("SIG{} was ignored when pgloom started (nohup, a background job); pgloom handles it anyway,"
                        + " as PgBouncer does", shownAs);
            } else {
                log.warn("SIG{} is ignored: pgloom was started with it ignored (nohup, a background job), and taking"
                        + " it back failed: {}", shownAs, failed);
            }
        }
    }
}
