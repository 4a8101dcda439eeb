package io.pgloom.embedded;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL server in a child process, for {@code pgloom demo} and for tests.
 *
 * <pre>{@code
 * try (EmbeddedPostgres pg = EmbeddedPostgres.builder()
 *         .hostAuthMethod("md5")
 *         .bootstrapSql("CREATE ROLE app LOGIN PASSWORD 'app'", "CREATE DATABASE app OWNER app")
 *         .start()) {
 *     connect to pg.host():pg.port() ...
 * }
 * }</pre>
 *
 * <p>The binaries come from the zonky jar on the classpath (see {@link PostgresBinaries}); as
 * root the server runs as an unprivileged account (see {@link PostgresAccount}). The JVM starts
 * {@code postgres} itself, not {@code pg_ctl}, which would daemonize it out of our reach: the JVM
 * holds the {@link Process}, the server's stdout and stderr go to {@link #logFile()}.
 *
 * <p>Threading: every lifecycle method is {@code synchronized}; {@link #kill()} from a chaos
 * test while another thread is mid-query is the intended use. A shutdown hook closes every
 * instance still open when the JVM exits (Ctrl-C on {@code pgloom demo} leaves neither a process
 * nor a directory behind); a SIGKILLed JVM cannot run it, see {@link AbandonedInstances} for what
 * happens then.
 */
public final class EmbeddedPostgres implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgres.class);

    static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
    static final Duration KILL_TIMEOUT = Duration.ofSeconds(10);
    /** {@code sun_path} holds 108 bytes with its terminating NUL. */
    private static final int MAX_SOCKET_PATH = 107;
    private static final Set<String> HOST_METHODS = Set.of("trust", "reject", "md5", "password", "scram-sha-256");
    /** Set by us from the builder's dedicated methods, so not accepted through {@code setting}. */
    private static final Set<String> RESERVED_SETTINGS = Set.of("port", "listen_addresses");

    private final PostgresBinaries binaries;
    private final PostgresAccount account;
    private final int port;
    private final String host;
    private final String superuser;
    private final String superuserPassword;
    private final Path dataDirectory;
    private final Path logFile;
    /** The temporary directory we made and delete on close; null for a caller's data directory. */
    private final Path ownedBase;
    private final Map<String, String> settings;
    /** The builder's TLS files (certificate, key, CA or null); null: ssl stays off. */
    private final Path[] tlsFiles;

    private Process process;
    private long postmasterPid = -1;
    private boolean closed;

    private EmbeddedPostgres(Builder b, PostgresBinaries binaries, PostgresAccount account, int port,
            Path dataDirectory, Path ownedBase) {
        this.binaries = binaries;
        this.account = account;
        this.port = port;
        this.host = connectHost(b.listenAddress);
        this.superuser = b.superuser;
        this.superuserPassword = b.superuserPassword;
        this.dataDirectory = dataDirectory;
        this.logFile = dataDirectory.resolveSibling(dataDirectory.getFileName() + ".log");
        this.ownedBase = ownedBase;
        this.settings = settings(b, port, dataDirectory);
        this.tlsFiles = b.tlsFiles;
    }

    public static Builder builder() {
        return new Builder();
    }

    public int port() {
        return port;
    }

    /** The address clients connect to: the listen address, or loopback when it is a wildcard. */
    public String host() {
        return host;
    }

    public String superuser() {
        return superuser;
    }

    public String superuserPassword() {
        return superuserPassword;
    }

    public Path dataDirectory() {
        return dataDirectory;
    }

    /** The server's stdout and stderr, across restarts; next to the data directory. */
    public Path logFile() {
        return logFile;
    }

    /** The directory holding the server's Unix socket, if it has one. */
    public Optional<Path> socketDirectory() {
        String dirs = settings.getOrDefault("unix_socket_directories", "");
        String first = dirs.split(",")[0].strip();
        return first.isEmpty() ? Optional.empty() : Optional.of(Path.of(first));
    }

    /** The postmaster's pid: the running one, else the last one; -1 before the first start. */
    public synchronized long pid() {
        return postmasterPid;
    }

    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    public String jdbcUrl(String database) {
        String h = host.contains(":") ? "[" + host + "]" : host;
        return "jdbc:postgresql://" + h + ":" + port + "/" + database;
    }

    /**
     * Fast shutdown: SIGINT to the postmaster, which rolls back open transactions, disconnects
     * every session and checkpoints (SIGTERM would be a "smart" shutdown, waiting for pooled
     * connections that never leave). Killed after {@link #STOP_TIMEOUT}. Does nothing when stopped.
     */
    public synchronized void stop() {
        Process p = process;
        if (p == null) {
            return;
        }
        try {
            if (postmasterPid <= 0 || !Signals.interrupt(postmasterPid)) {
                killProcesses(); // never got as far as a postmaster.pid, or it died already
                return;
            }
            if (!p.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("PostgreSQL {} did not stop within {} s; killing it{}", postmasterPid,
                        STOP_TIMEOUT.toSeconds(), Logs.tail(logFile));
                killProcesses();
                return;
            }
            // With runuser in between, p is the wrapper, which exits right after the postmaster.
            awaitExit(ProcessHandle.of(postmasterPid).stream().toList());
            log.debug("PostgreSQL {} on port {} stopped", postmasterPid, port);
        } catch (InterruptedException e) {
            killProcesses();
            Thread.currentThread().interrupt();
        } finally {
            process = null;
        }
    }

    /**
     * SIGKILLs the postmaster and all its children, as a crash would: no shutdown checkpoint, a
     * stale {@code postmaster.pid} left behind, clients see their connections reset. Returns when
     * they are gone, so {@link #restart()} can follow at once (it recovers from the WAL).
     */
    public synchronized void kill() {
        if (process == null) {
            return;
        }
        try {
            killProcesses();
        } finally {
            process = null;
        }
    }

    /** Starts again on the same port and data directory, after {@link #stop()} or {@link #kill()}. */
    public synchronized void restart() throws IOException {
        if (closed) {
            throw new IllegalStateException("closed");
        }
        stop();
        launch();
    }

    /** Stops the server and deletes the temporary directory, if we made one. Idempotent. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            stop();
        } finally {
            Live.instances.remove(this);
            if (ownedBase != null) {
                try {
                    PostgresBinaries.deleteTree(ownedBase);
                } catch (IOException e) {
                    log.warn("Could not delete {}: {}", ownedBase, e.toString());
                }
            }
        }
    }

    @Override
    public String toString() {
        return "EmbeddedPostgres[" + host + ":" + port + ", " + dataDirectory + "]";
    }

    // ---- starting -----------------------------------------------------------------------------

    /** Creates the cluster when the data directory has none, then writes our configuration. */
    private void initialize(Builder b) throws IOException {
        if (ownedBase != null) {
            account.own(ownedBase);
        }
        account.checkCanReach(dataDirectory);
        if (Files.exists(dataDirectory.resolve("PG_VERSION"))) {
            // A data directory from a previous run or copied from another server: make it the
            // server account's with the mode PostgreSQL insists on, keep its pg_hba.conf.
            account.ownTree(dataDirectory);
            Files.setPosixFilePermissions(dataDirectory, PosixFilePermissions.fromString("rwx------"));
            copyTlsFiles();
            ConfigFiles.writeSettings(dataDirectory, settings, account);
            return;
        }
        Files.createDirectories(dataDirectory);
        Files.setPosixFilePermissions(dataDirectory, PosixFilePermissions.fromString("rwx------"));
        account.own(dataDirectory);
        long t0 = System.nanoTime();
        initdb(b.hostAuthMethod);
        long t1 = System.nanoTime();
        ConfigFiles.writeHba(dataDirectory, b.hbaLines, b.hostAuthMethod, account);
        copyTlsFiles();
        ConfigFiles.writeSettings(dataDirectory, settings, account);

        List<String> bootstrap = new ArrayList<>();
        if ("md5".equals(settings.get("password_encryption"))) {
            // initdb stored the superuser's password as SCRAM, whatever the configuration says,
            // and md5 authentication of a SCRAM password silently becomes SCRAM authentication.
            bootstrap.add("ALTER ROLE " + quoteIdent(superuser) + " PASSWORD " + quoteLiteral(superuserPassword));
        }
        bootstrap.addAll(b.bootstrapSql);
        SingleUserMode.run(binaries, account, dataDirectory, bootstrap, logFile, START_TIMEOUT);
        log.debug("Created a cluster in {}: initdb {} ms, {} bootstrap statements {} ms", dataDirectory,
                (t1 - t0) / 1_000_000, bootstrap.size(), (System.nanoTime() - t1) / 1_000_000);
    }

    /**
     * The builder's TLS files, copied into the data directory as the server's account's own with
     * mode 0600 (PostgreSQL refuses a key file others can read), and named in the settings.
     */
    private void copyTlsFiles() throws IOException {
        if (tlsFiles == null) {
            return;
        }
        String[] names = {"server.crt", "server.key", "root.crt"};
        String[] settingNames = {"ssl_cert_file", "ssl_key_file", "ssl_ca_file"};
        for (int i = 0; i < names.length; i++) {
            if (tlsFiles[i] == null) {
                continue;
            }
            Path to = dataDirectory.resolve(names[i]);
            Files.copy(tlsFiles[i], to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("rw-------"));
            account.own(to);
            settings.put(settingNames[i], names[i]);
        }
        settings.put("ssl", "on");
    }

    private void initdb(String hostMethod) throws IOException {
        Path pwfile = Files.createTempFile(dataDirectory.getParent(), "pgloom-pw-", ""); // mode 0600
        try {
            Files.writeString(pwfile, superuserPassword + "\n", StandardCharsets.UTF_8);
            account.own(pwfile);
            List<String> command = account.command(List.of(binaries.initdb().toString(),
                    "-D", dataDirectory.toString(), "-U", superuser, "--pwfile=" + pwfile,
                    "-E", "UTF8", "--locale=C", "--auth-local=trust", "--auth-host=" + hostMethod,
                    "--no-sync", "--no-instructions"));
            ProcessBuilder builder = new ProcessBuilder(command)
                    .directory(dataDirectory.toFile())
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
            binaries.prepare(builder.environment());
            Process initdb = builder.start();
            initdb.getOutputStream().close();
            if (!initdb.waitFor(START_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                initdb.destroyForcibly();
                throw new IOException("initdb did not finish within " + START_TIMEOUT.toSeconds() + " s"
                        + Logs.tail(logFile));
            }
            if (initdb.exitValue() != 0) {
                throw new IOException("initdb failed (exit code " + initdb.exitValue() + ")" + Logs.tail(logFile));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running initdb", e);
        } finally {
            Files.deleteIfExists(pwfile);
        }
    }

    /** Starts the postmaster and returns once it accepts connections. Caller holds the lock. */
    private void launch() throws IOException {
        ConfigFiles.writeSettings(dataDirectory, settings, account);
        long logStart = Files.exists(logFile) ? Files.size(logFile) : 0;
        List<String> command = account.command(List.of(binaries.postgres().toString(), "-D", dataDirectory.toString()));
        ProcessBuilder builder = new ProcessBuilder(command)
                .directory(dataDirectory.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
        binaries.prepare(builder.environment());
        long t0 = System.nanoTime();
        process = builder.start();
        postmasterPid = -1;
        process.getOutputStream().close();
        try {
            awaitReady(t0 + START_TIMEOUT.toNanos(), logStart);
        } catch (IOException | RuntimeException e) {
            kill();
            throw e;
        }
        log.info("PostgreSQL {} ready on {}:{} in {} ms (pid {}, data {}, running as {})", binaries.description(),
                host, port, (System.nanoTime() - t0) / 1_000_000, postmasterPid, dataDirectory, account.name());
    }

    /**
     * Ready means: the {@code postmaster.pid} is our postmaster's (a killed server leaves a stale
     * one behind, still saying "ready") and says ready, and a TCP connect to the port succeeds.
     * A connection closed before sending a startup packet is not logged by the server.
     */
    private void awaitReady(long deadlineNanos, long logStart) throws IOException {
        long pause = 5;
        while (true) {
            if (!process.isAlive()) {
                throw new IOException("PostgreSQL exited with code " + process.exitValue() + " while starting on port "
                        + port + Logs.since(logFile, logStart));
            }
            Optional<PostmasterPidFile> pidFile = PostmasterPidFile.read(dataDirectory);
            if (pidFile.isPresent() && isOurs(pidFile.get().pid())) {
                postmasterPid = pidFile.get().pid();
                if (pidFile.get().acceptsConnections() && acceptsTcp()) {
                    return;
                }
            }
            if (System.nanoTime() > deadlineNanos) {
                throw new IOException("PostgreSQL did not accept connections on " + host + ":" + port + " within "
                        + START_TIMEOUT.toSeconds() + " s" + Logs.since(logFile, logStart));
            }
            try {
                Thread.sleep(pause);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while waiting for PostgreSQL to start", e);
            }
            pause = Math.min(pause * 2, 50);
        }
    }

    /** The process we started, or (runuser forks) one of its descendants. */
    private boolean isOurs(long pid) {
        return pid == process.pid() || process.toHandle().descendants().anyMatch(h -> h.pid() == pid);
    }

    private boolean acceptsTcp() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(host, port), 1000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    // ---- stopping -----------------------------------------------------------------------------

    /**
     * Freeze, then kill. SIGKILLing the postmaster first lets idle backends notice its death and
     * send their clients "terminating connection due to unexpected postmaster exit"; killing the
     * children first makes the postmaster start crash recovery, SIGQUIT the rest (which then send
     * "crash of another server process") and fork new processes. Either way clients would hear
     * last words that a crashed machine never sends. SIGSTOP the postmaster first: it can no longer
     * fork, so its list of children is final; SIGSTOP them too; then SIGKILL everyone. Clients see
     * only their connection close.
     */
    private void killProcesses() {
        long t0 = System.nanoTime();
        Process p = process;
        Optional<ProcessHandle> postmaster = postmasterPid > 0
                ? ProcessHandle.of(postmasterPid).filter(ProcessHandle::isAlive) : Optional.empty();
        // With setpriv the postmaster is p; with runuser it is p's child. runuser answers a
        // stopped child by stopping itself (job control) and would then never reap it: freeze
        // runuser before its child, and let it go on once the child is dead.
        boolean wrapped = postmaster.isPresent() && p.pid() != postmasterPid;
        if (wrapped) {
            Signals.stop(List.of(p.pid()));
        }
        postmaster.ifPresent(pm -> Signals.stop(List.of(pm.pid())));
        List<ProcessHandle> tree = new ArrayList<>(p.toHandle().descendants().toList());
        postmaster.ifPresent(pm -> pm.descendants().filter(h -> !tree.contains(h)).forEach(tree::add));
        Signals.stop(tree.stream().map(ProcessHandle::pid).toList());
        postmaster.ifPresent(ProcessHandle::destroyForcibly);
        tree.forEach(ProcessHandle::destroyForcibly);
        if (postmaster.isEmpty()) {
            p.destroyForcibly();
        }
        if (wrapped) {
            Signals.resume(p.pid());
        }
        try {
            // runuser exits by itself once its child is dead, and reaps it. Killing runuser as
            // well would leave the postmaster a zombie that only pid 1 reaps, maybe a second
            // later, and a restart meanwhile would read the zombie's pid in the stale
            // postmaster.pid as a live server ("lock file already exists").
            if (!p.waitFor(KILL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                p.waitFor(KILL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            }
            awaitExit(tree);
            if (postmaster.isPresent()) {
                awaitReaped(postmaster.get());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        log.debug("PostgreSQL {} on port {} killed with {} children in {} ms", postmasterPid, port, tree.size(),
                (System.nanoTime() - t0) / 1_000_000);
    }

    /** Waits, bounded, until the postmaster is not even a zombie: see {@link #killProcesses}. */
    private static void awaitReaped(ProcessHandle postmaster) throws InterruptedException {
        long deadline = System.nanoTime() + KILL_TIMEOUT.toNanos();
        while (postmaster.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        if (postmaster.isAlive()) {
            log.warn("Killed postmaster {} not reaped after {} s; a restart may take it for a live server",
                    postmaster.pid(), KILL_TIMEOUT.toSeconds());
        }
    }

    /** Waits, bounded, until none of {@code processes} runs. */
    private static void awaitExit(List<ProcessHandle> processes) throws InterruptedException {
        long deadline = System.nanoTime() + KILL_TIMEOUT.toNanos();
        for (ProcessHandle h : processes) {
            while (!hasExited(h) && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            if (!hasExited(h)) {
                log.warn("PostgreSQL process {} still exists after {} s", h.pid(), KILL_TIMEOUT.toSeconds());
            }
        }
    }

    /**
     * Exited, or a zombie: killed children are orphans that only pid 1 reaps, and some inits do
     * that once a second. A zombie holds no socket, memory or lock, so it need not be waited for.
     */
    public static boolean hasExited(ProcessHandle h) {
        if (!h.isAlive()) {
            return true;
        }
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(h.pid()), "stat"));
            int afterName = stat.lastIndexOf(')'); // the name may hold spaces and parentheses
            return afterName > 0 && afterName + 2 < stat.length() && stat.charAt(afterName + 2) == 'Z';
        } catch (IOException e) {
            return !h.isAlive(); // gone meanwhile, or no /proc
        }
    }

    // ---- helpers ------------------------------------------------------------------------------

    private static Map<String, String> settings(Builder b, int port, Path dataDirectory) {
        Map<String, String> s = new LinkedHashMap<>();
        s.put("listen_addresses", b.listenAddress);
        s.put("port", Integer.toString(port));
        // The default, /var/run/postgresql, may be missing or not ours. The data directory is
        // private to the server's account, so the socket there is too; sun_path limits its length.
        String socketPath = dataDirectory + "/.s.PGSQL." + port;
        s.put("unix_socket_directories",
                socketPath.getBytes(StandardCharsets.UTF_8).length <= MAX_SOCKET_PATH ? dataDirectory.toString() : "");
        s.put("max_connections", "200");
        // Throwaway clusters: durability buys nothing and costs seconds per test class.
        s.put("fsync", "off");
        s.put("synchronous_commit", "off");
        s.put("full_page_writes", "off");
        s.put("logging_collector", "off");
        s.put("log_destination", "stderr");
        if (b.hostAuthMethod.equals("md5")) {
            // So md5 means md5 on the wire: a SCRAM-stored password is checked with SCRAM instead.
            s.put("password_encryption", "md5");
        }
        s.putAll(b.settings);
        return s;
    }

    private static String connectHost(String listenAddress) {
        String first = listenAddress.split(",")[0].strip();
        return switch (first) {
            case "*", "0.0.0.0", "" -> "127.0.0.1";
            case "::" -> "::1";
            default -> first;
        };
    }

    /** A free port on {@code host}, never one this JVM handed out already. */
    /**
     * A port that is free now, taken below the kernel's ephemeral range: a port the kernel hands
     * out for outgoing connections (what binding port 0 returns) can be taken by some client's
     * connect before PostgreSQL binds it, and on a busy machine that happens.
     */
    private static int freePort(String host) throws IOException {
        InetAddress address = InetAddress.getByName(host);
        int ephemeralLow = ephemeralRangeStart();
        int low = Math.max(1024, ephemeralLow - 12_000);
        java.util.concurrent.ThreadLocalRandom random = java.util.concurrent.ThreadLocalRandom.current();
        for (int attempt = 0; attempt < 200; attempt++) {
            int candidate = ephemeralLow > low ? random.nextInt(low, ephemeralLow) : 0;
            try (ServerSocket socket = new ServerSocket()) {
                socket.bind(new InetSocketAddress(address, candidate));
                int port = socket.getLocalPort();
                if (Live.portsHandedOut.add(port)) {
                    return port;
                }
            } catch (java.net.BindException taken) {
                // try another
            }
        }
        throw new IOException("could not find a free port on " + host);
    }

    /** The first port of Linux's ephemeral range, or 0 where it cannot be read. */
    private static int ephemeralRangeStart() {
        try {
            String range = java.nio.file.Files.readString(java.nio.file.Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
            return Integer.parseInt(range.split("\\s+")[0]);
        } catch (IOException | RuntimeException e) {
            return 0;
        }
    }

    static String quoteIdent(String name) {
        return "\"" + name.replace("\"", "\"\"") + "\"";
    }

    static String quoteLiteral(String value) {
        return "'" + value.replace("'", "''") + "'";
    }

    /** Instances to close when the JVM exits. */
    private static final class Live {
        static final Set<EmbeddedPostgres> instances = ConcurrentHashMap.newKeySet();
        static final Set<Integer> portsHandedOut = ConcurrentHashMap.newKeySet();

        static {
            Runtime.getRuntime().addShutdownHook(new Thread(Live::closeAll, "embedded-postgres-shutdown"));
        }

        static void register(EmbeddedPostgres pg) {
            instances.add(pg);
        }

        /** Closes all at once: each fast shutdown takes a checkpoint, no reason to queue them. */
        private static void closeAll() {
            List<Thread> closers = new ArrayList<>();
            for (EmbeddedPostgres pg : List.copyOf(instances)) {
                closers.add(Thread.ofPlatform().name("close-" + pg.port).start(pg::close));
            }
            long deadline = System.nanoTime() + STOP_TIMEOUT.toNanos() + KILL_TIMEOUT.toNanos();
            for (Thread t : closers) {
                try {
                    t.join(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    /** Starts a server; settings not called keep the defaults in the method comments. */
    public static final class Builder {
        private int port;
        private String listenAddress = "127.0.0.1";
        private String superuser = "postgres";
        private String superuserPassword = "postgres";
        private String hostAuthMethod = "scram-sha-256";
        private List<String> hbaLines = List.of();
        private Path[] tlsFiles;
        private final Map<String, String> settings = new LinkedHashMap<>();
        private final List<String> bootstrapSql = new ArrayList<>();
        private Path dataDirectory;
        private PostgresAccount account;
        private boolean closeOnExit = true;

        private Builder() {}

        /** Tests only: run the server through this launcher instead of this JVM's usual one. */
        Builder account(PostgresAccount account) {
            this.account = account;
            return this;
        }

        /** 0 (the default) picks a free port on the listen address. */
        public Builder port(int port) {
            if (port < 0 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            this.port = port;
            return this;
        }

        /** {@code listen_addresses}; default 127.0.0.1. */
        public Builder listenAddress(String addr) {
            this.listenAddress = Objects.requireNonNull(addr);
            return this;
        }

        /** Default postgres. */
        public Builder superuser(String name) {
            this.superuser = Objects.requireNonNull(name);
            return this;
        }

        /** Default postgres. */
        public Builder superuserPassword(String pw) {
            this.superuserPassword = Objects.requireNonNull(pw);
            return this;
        }

        /**
         * The pg_hba.conf method for TCP connections from 127.0.0.1/32 and ::1/128 (Unix-socket
         * connections are trusted): scram-sha-256 (default), md5, password, trust or reject. With
         * md5, {@code password_encryption} becomes md5 too, unless set explicitly.
         */
        public Builder hostAuthMethod(String method) {
            if (!HOST_METHODS.contains(method)) {
                throw new IllegalArgumentException("host auth method must be one of " + HOST_METHODS + ": " + method);
            }
            this.hostAuthMethod = method;
            return this;
        }

        /**
         * Turns TLS on ({@code ssl = on}) with this certificate and key, and {@code caFile} (may
         * be null) as ssl_ca_file, which vouches for client certificates (the cert method,
         * clientcert=verify-full). The files are copied into the data directory.
         */
        public Builder tls(Path certFile, Path keyFile, Path caFile) {
            this.tlsFiles = new Path[] {certFile.toAbsolutePath(), keyFile.toAbsolutePath(),
                caFile == null ? null : caFile.toAbsolutePath()};
            return this;
        }

        /** pg_hba.conf lines placed before ours, e.g. {@code host all alice 127.0.0.1/32 md5}. */
        public Builder hbaLines(List<String> lines) {
            this.hbaLines = List.copyOf(lines);
            return this;
        }

        /**
         * A postgresql.conf setting, over our defaults: max_connections=200, fsync=off,
         * synchronous_commit=off, full_page_writes=off, unix_socket_directories=the data directory
         * (when short enough for a socket path, else none). Use {@link #port} and
         * {@link #listenAddress} for those two.
         */
        public Builder setting(String name, String value) {
            if (RESERVED_SETTINGS.contains(name)) {
                throw new IllegalArgumentException("set " + name + " with the builder's own method");
            }
            settings.put(Objects.requireNonNull(name), Objects.requireNonNull(value));
            return this;
        }

        /**
         * Statements run once, right after initdb and before the server listens, as the superuser
         * in database postgres, each in its own transaction (so CREATE DATABASE works). One
         * statement per argument; a trailing semicolon is optional. Not run on a reused data
         * directory.
         */
        /**
         * Whether pgloom's own shutdown hook stops this server when the JVM exits (default true).
         * Turn it off only when the caller's own hook closes it, in an order that matters (the
         * demo stops the pooler before its PostgreSQL).
         */
        public Builder closeOnExit(boolean close) {
            this.closeOnExit = close;
            return this;
        }

        public Builder bootstrapSql(String... statements) {
            for (String s : statements) {
                bootstrapSql.add(Objects.requireNonNull(s));
            }
            return this;
        }

        /**
         * Use this data directory, kept on close. If it holds a cluster it is reused as is: no
         * initdb, no bootstrap SQL, its pg_hba.conf untouched; only port, listen address and the
         * builder's settings are written (into pgloom.conf). Otherwise a new cluster is made there.
         * Default: a new temporary directory, deleted on close.
         */
        public Builder dataDirectory(Path dir) {
            this.dataDirectory = dir.toAbsolutePath();
            return this;
        }

        /**
         * Creates the cluster if needed and starts the server; returns once it accepts
         * connections, or fails within 60 s with the end of the server log in the message.
         */
        public EmbeddedPostgres start() throws IOException {
            PostgresAccount account = this.account != null ? this.account : PostgresAccount.forThisProcess();
            PostgresBinaries binaries = PostgresBinaries.resolve(account);
            Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
            AbandonedInstances.reapOnce(tmp);

            int chosenPort = port != 0 ? port : freePort(connectHost(listenAddress));
            Path base = null;
            Path data = dataDirectory;
            if (data == null) {
                base = AbandonedInstances.createTempBase(tmp);
                data = base.resolve("data");
            }
            EmbeddedPostgres pg = new EmbeddedPostgres(this, binaries, account, chosenPort, data, base);
            if (closeOnExit) {
                Live.register(pg);
            }
            try {
                synchronized (pg) {
                    pg.initialize(this);
                    pg.launch();
                }
                return pg;
            } catch (IOException | RuntimeException e) {
                pg.close();
                throw e;
            }
        }
    }
}
