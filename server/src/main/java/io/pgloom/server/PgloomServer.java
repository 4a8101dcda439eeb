package io.pgloom.server;

import io.pgloom.config.ConfigException;
import io.pgloom.config.ConfigLoader;
import io.pgloom.config.ConfigWarning;
import io.pgloom.config.PgloomConfig;
import io.pgloom.config.Setting;
import io.pgloom.config.SettingValues;
import io.pgloom.config.Settings;
import io.pgloom.config.UserList;
import io.pgloom.config.UserSecret;
import io.pgloom.server.admin.AdminConsole;
import io.pgloom.server.control.Pooler;
import io.pgloom.server.metrics.MetricsListener;
import io.pgloom.server.net.Listener;
import io.pgloom.server.peer.PeerForwarder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running pgloom: config, pooler, listeners, pidfile. Start with {@link #start}, reload on
 * SIGHUP with {@link #reload}, stop with {@link #shutdown} (graceful) or {@link #close}.
 */
public final class PgloomServer implements AutoCloseable, Pooler.Control {
    private static final Logger log = LoggerFactory.getLogger(PgloomServer.class);

    private final Path configFile;
    private final Pooler pooler;
    private final List<Listener> listeners = new ArrayList<>();
    private final Path pidFile;
    /** The /metrics, /health and /ready listener; null unless metrics_listen_port is set. */
    private MetricsListener metrics;
    private final java.util.concurrent.atomic.AtomicBoolean closing = new java.util.concurrent.atomic.AtomicBoolean();
    private final java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);
    /** Where SHUTDOWN on the admin console runs: not in a scope that it closes itself. */
    private final TaskScope adminShutdown = new TaskScope("admin-shutdown");
    /** The thread running a console SHUTDOWN, which ends its own scope without waiting for itself. */
    private volatile Thread shutdownThread;

    private PgloomServer(Path configFile, PgloomConfig config, Map<String, UserSecret> users, boolean hasAuthFile) {
        this.configFile = configFile;
        this.pooler = new Pooler(config, users, hasAuthFile, 0);
        pooler.console(new AdminConsole(pooler));
        pooler.control(this);
        pooler.foreignCancels(new PeerForwarder(pooler));
        String pid = config.settings().string("pidfile");
        this.pidFile = pid == null || pid.isBlank() ? null : config.resolve(pid);
    }

    /**
     * The command line's {@code -q} (no logging to stderr) and {@code -v} repeated
     * {@code verbosity} times, for the life of the process; call before {@link #start}.
     */
    public static void commandLineLogging(boolean quiet, int verbosity) {
        LogSetup.commandLine(quiet, verbosity);
    }

    /** Loads {@code configFile} and starts listening. Throws with file:line on a bad config. */
    public static PgloomServer start(Path configFile) throws ConfigException, IOException {
        PgloomConfig config = ConfigLoader.load(configFile);
        LogSetup.apply(config);
        config.warnings().forEach(w -> log.warn("{}", w));
        IoSetup.apply(config.settings());
        Map<String, UserSecret> users = loadUsers(config);
        TlsSetup.Loaded tls = TlsSetup.atStart(configFile, config.settings());
        PgloomServer server = new PgloomServer(configFile, config, users, authFile(config) != null);
        tls.applyTo(server.pooler);
        try {
            server.listen(config);
            server.listenForMetrics(config);
            server.writePidFile();
        } catch (IOException | RuntimeException e) {
            server.close();
            throw e;
        }
        return server;
    }

    private static Path authFile(PgloomConfig config) {
        String f = config.settings().string("auth_file");
        return f == null || f.isBlank() ? null : config.resolve(f);
    }

    private static Map<String, UserSecret> loadUsers(PgloomConfig config) throws ConfigException {
        Path f = authFile(config);
        return f == null ? Map.of() : UserList.load(f);
    }

    /**
     * Opens the TCP listeners of listen_addr, then the Unix socket of unix_socket_dir, named after
     * the bound TCP port (listen_port, or the port the system chose for 0). Empty listen_addr
     * means the Unix socket only, as in PgBouncer; both empty is refused, as nobody could connect.
     */
    private void listen(PgloomConfig config) throws IOException {
        String addrs = config.settings().string("listen_addr");
        int port = config.settings().integer("listen_port");
        int backlog = config.settings().integer("listen_backlog");
        String socketDir = config.settings().string("unix_socket_dir");
        boolean unix = socketDir != null && !socketDir.isBlank();
        Set<String> hosts = new LinkedHashSet<>();
        if (addrs != null && !addrs.isBlank()) {
            for (String a : addrs.split(",")) {
                String h = a.trim();
                hosts.add(h.equals("*") ? "0.0.0.0" : h);
            }
        } else if (!unix) {
            throw new IOException("listen_addr and unix_socket_dir are both empty: pgloom would accept no clients");
        }
        boolean reusePort = config.settings().bool("so_reuseport");
        for (String h : hosts) {
            Listener l = new Listener(pooler, h, port, backlog, reusePort);
            listeners.add(l);
            deferAccept(l, config.settings().bool("tcp_defer_accept"));
            l.start();
        }
        if (unix) {
            int socketPort = listeners.isEmpty() ? port : listeners.getFirst().port();
            Listener l;
            try {
                l = Listener.unix(pooler, config.resolve(socketDir.trim()), socketPort,
                        config.settings().integer("unix_socket_mode"), config.settings().string("unix_socket_group"), backlog);
            } catch (IOException e) {
                // A Unix socket file has one owner: SO_REUSEPORT does not share it, as in PgBouncer.
                throw reusePort ? new IOException(e.getMessage() + " (with so_reuseport = 1 every pgloom on port "
                        + socketPort + " needs a unix_socket_dir of its own, and a pidfile of its own)", e) : e;
            }
            listeners.add(l);
            l.start();
        }
        logFileDescriptorLimit(config);
    }

    /** Starts the HTTP listener if metrics_listen_port is set; 0 takes a free port (tests). */
    private void listenForMetrics(PgloomConfig config) throws IOException {
        String port = config.settings().raw("metrics_listen_port");
        if (port == null || port.isBlank()) {
            log.info("metrics_listen_port is not set: no /metrics, /health or /ready listener");
            return;
        }
        String host = config.settings().string("metrics_listen_addr");
        host = host == null || host.isBlank() ? "127.0.0.1" : host.trim().equals("*") ? "0.0.0.0" : host.trim();
        metrics = MetricsListener.start(pooler, host, config.settings().integer("metrics_listen_port"));
    }

    private static void logFileDescriptorLimit(PgloomConfig config) {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean()
                instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            long max = unix.getMaxFileDescriptorCount();
            int maxClients = config.settings().integer("max_client_conn");
            log.info("file descriptor limit {}: room for about {} clients (max_client_conn = {})", max, Math.max(0, max - 100), maxClients);
            if (maxClients > max - 100) {
                log.warn("max_client_conn {} is above what the file descriptor limit {} allows; raise `ulimit -n`", maxClients, max);
            }
        }
    }

    private void writePidFile() throws IOException {
        if (pidFile != null) {
            Files.writeString(pidFile, ProcessHandle.current().pid() + "\n");
        }
    }

    /** The port clients connect to: the first TCP listener's, or the Unix socket's number when there is no TCP. */
    public int port() {
        return listeners.getFirst().port();
    }

    /** What this server listens on, in order: {@code 127.0.0.1:6432}, {@code unix:/tmp/.s.PGSQL.6432}. */
    public List<String> listenAddresses() {
        return listeners.stream().map(Listener::describe).toList();
    }

    /** The port of the metrics listener; empty when metrics_listen_port is not set. */
    public java.util.OptionalInt metricsPort() {
        return metrics == null ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(metrics.port());
    }

    public Pooler pooler() {
        return pooler;
    }

    /**
     * Re-reads the config. A broken file is refused with file:line and the old config keeps serving.
     * Settings that need a restart (listen_addr, listen_port...) are reported, not applied.
     */
    @Override
    public boolean reload() {
        try {
            PgloomConfig next = ConfigLoader.load(configFile);
            LogSetup.apply(next);
            next.warnings().forEach(w -> log.warn("{}", w));
            Map<String, UserSecret> users = loadUsers(next);
            PgloomConfig current = pooler.config();
            for (String fixed : List.of("listen_addr", "listen_port", "listen_backlog", "pidfile",
                    "unix_socket_dir", "unix_socket_mode", "unix_socket_group", "so_reuseport",
                    "metrics_listen_addr", "metrics_listen_port", "track_extra_parameters")) {
                if (!String.valueOf(current.settings().raw(fixed)).equals(String.valueOf(next.settings().raw(fixed)))) {
                    log.warn("reload: {} changed but needs a restart to take effect", fixed);
                }
            }
            pooler.apply(next, users, authFile(next) != null);
            TlsSetup.reload(current.settings(), next.settings(), pooler, "reload", null);
            deferAcceptChanged(current.settings(), next.settings());
            log.info("reloaded {}", configFile);
            return true;
        } catch (ConfigException e) {
            log.error("reload refused, keeping the running config: {}", e.getMessage());
            return false;
        }
    }

    /**
     * SET on the admin console: one reloadable setting changes as if the file said so and was
     * reloaded (a later RELOAD goes back to the file's value, as in PgBouncer).
     */
    @Override
    public String set(String name, String value) {
        String key = name.toLowerCase(java.util.Locale.ROOT);
        Setting setting = Settings.byName(key).orElseThrow(() -> new IllegalArgumentException("unknown setting " + name));
        if (!setting.reloadable()) {
            throw new IllegalArgumentException(key + " cannot be changed while pgloom runs; change it in the config file and restart");
        }
        if (!setting.accepted()) {
            throw new IllegalArgumentException(key + " is not supported by pgloom yet");
        }
        if (!setting.noEffect().isEmpty()) {
            log.warn("SET {}: this setting has no effect in pgloom: {}", key, setting.noEffect());
        }
        SettingValues previous = pooler.config().settings();
        SettingValues next = previous.with(key, value);
        LogSetup.apply(pooler.config().withSettings(next));
        pooler.applySettings(next);
        deferAcceptChanged(previous, next);
        log.info("SET {} = {}", key, value);
        String side = key.startsWith("client_tls") ? "client_tls" : key.startsWith("server_tls") ? "server_tls" : null;
        if (side != null && !TlsSetup.reload(previous, next, pooler, "SET " + key, side)) {
            return "TLS settings could not be applied, still using old configuration"; // PgBouncer's notice
        }
        return null;
    }

    /**
     * tcp_defer_accept on one TCP listener. With io_mode = jdk it cannot be set: said at debug
     * level, since it is on by default (a failed call was warned about by the listener).
     */
    private static void deferAccept(Listener l, boolean on) {
        if (!l.deferAccept(on)) {
            log.debug("tcp_defer_accept = {} not applied on {}", on ? 1 : 0, l.describe());
        }
    }

    /** A RELOAD or SET changed tcp_defer_accept: applied to the listening sockets at once, as PgBouncer does. */
    private void deferAcceptChanged(SettingValues before, SettingValues after) {
        boolean on = after.bool("tcp_defer_accept");
        if (on != before.bool("tcp_defer_accept")) {
            listeners.stream().filter(l -> !l.isUnix()).forEach(l -> deferAccept(l, on));
        }
    }

    /** SHUTDOWN on the admin console: runs on its own thread, so the console's reply goes out first. */
    @Override
    public void shutdown(Pooler.ShutdownMode mode) {
        shutdown(mode, "the admin console");
    }

    /**
     * SHUTDOWN in one of its forms, requested by {@code requestedBy} (the console, a signal): returns
     * at once; {@link #awaitClosed} tells when it is done, and {@link #close} cuts it short.
     */
    public void shutdown(Pooler.ShutdownMode mode, String requestedBy) {
        if (mode != Pooler.ShutdownMode.IMMEDIATE) {
            // Before this returns, not on the shutdown's thread: the next console command (RESUME),
            // login or (WAIT_FOR_SERVERS) new transaction must already find the shutdown begun.
            pooler.refuseNewClients();
            if (mode == Pooler.ShutdownMode.WAIT_FOR_SERVERS) {
                pooler.beginServerShutdown();
            }
        }
        adminShutdown.start("admin-shutdown", () -> {
            shutdownThread = Thread.currentThread();
            log.info("SHUTDOWN {} from {}", mode, requestedBy);
            try {
                switch (mode) {
                    case IMMEDIATE -> { }
                    case WAIT_FOR_SERVERS -> {
                        // Clients that wait for a server or sit idle are closed now, the others once
                        // their transaction releases their server.
                        stopAcceptingClients();
                        pooler.shutdown(null);
                    }
                    case WAIT_FOR_CLIENTS -> {
                        stopAcceptingClients();
                        pooler.awaitNoClients();
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            close();
        });
    }

    /**
     * The first step of a waiting shutdown, as PgBouncer 1.23+ takes it: the TCP listeners close
     * (new connections are refused by the kernel); the Unix socket stays open until the exit, so an
     * operator can still watch the shutdown on the admin console, and refuses every other login.
     */
    private void stopAcceptingClients() {
        pooler.refuseNewClients();
        listeners.stream().filter(l -> !l.isUnix()).forEach(Listener::stopAccepting);
    }

    /** Waits until this server is closed (by SHUTDOWN on the console, a signal, or {@link #close}). */
    public void awaitClosed() throws InterruptedException {
        closed.await();
    }

    public boolean isClosed() {
        return closed.getCount() == 0;
    }

    /** Stops accepting, lets open transactions finish for up to {@code wait}, then closes everything. */
    public void shutdown(Duration wait) {
        log.info("shutting down: waiting up to {}s for open transactions", wait.toSeconds());
        listeners.forEach(Listener::stopAccepting);
        pooler.shutdown(wait);
        close();
    }

    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        try {
            closeOnce();
        } finally {
            closed.countDown();
        }
    }

    private void closeOnce() {
        if (Thread.currentThread() == shutdownThread) {
            adminShutdown.stop();
        } else {
            adminShutdown.close();
        }
        listeners.forEach(Listener::close);
        pooler.close();
        if (metrics != null) {
            // Last to go: /ready answers 503 for the whole graceful shutdown.
            metrics.close();
        }
        if (pidFile != null) {
            try {
                Files.deleteIfExists(pidFile);
            } catch (IOException e) {
                log.warn("could not remove pidfile {}: {}", pidFile, e.toString());
            }
        }
    }

    /** Warnings of a config, for `pgloom check`. */
    public static List<ConfigWarning> warnings(PgloomConfig config) {
        return config.warnings();
    }
}
