package io.pgloom.server.control;

import io.pgloom.config.DatabaseEntry;
import io.pgloom.config.PgloomConfig;
import io.pgloom.config.PoolMode;
import io.pgloom.config.ScramSecret;
import io.pgloom.config.SettingValues;
import io.pgloom.config.UserEntry;
import io.pgloom.config.UserSecret;
import io.pgloom.server.TaskScope;
import io.pgloom.server.frontend.ClientJanitor;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.server.frontend.ConsoleClient;
import io.pgloom.server.frontend.TrackedParameters;
import io.pgloom.server.pool.ConnectionView;
import io.pgloom.server.pool.Pool;
import io.pgloom.server.pool.PoolStats;
import io.pgloom.server.pool.PoolView;
import io.pgloom.server.statements.StatementRegistry;
import io.pgloom.wire.auth.ScramSecrets;
import io.pgloom.wire.backend.ServerCredentials;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.PgloomError;
import io.pgloom.wire.protocol.SqlState;
import io.pgloom.wire.tls.TlsAcceptor;
import io.pgloom.wire.tls.TlsConnector;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The pooling state of one pgloom instance, and the one door sessions, pools, the admin console
 * and the metrics go through. It holds the current config snapshot and the hooks PgloomServer
 * installs; the rest it hands to its parts: {@link Pools} (pools and their budgets),
 * {@link ClientRegistry} (clients, their limits and cancel keys), {@link CancelRouter} (where a
 * CancelRequest goes, {@link ForeignCancels} for another instance's keys), {@link AdminState}
 * (PAUSE, DISABLE, KILL and kin), {@link StatsTicker} (stats_period, log_stats) and
 * {@link Maintenance} (the once-a-second pass over the pools).
 *
 * <p>Threading: read by every client and server thread; a reload swaps immutable snapshots in
 * volatile fields; the parts keep concurrent maps. Background loops (maintenance once a second,
 * stats_period, the client janitor three times a second) run in this pooler's own scope.
 */
public final class Pooler implements AutoCloseable {
    /** PgBouncer's virtual database: a client that asks for it gets the admin console, not a pool. */
    public static final String CONSOLE_DATABASE = "pgbouncer";

    /** Serves a client of the admin console on its own thread, until it leaves. */
    @FunctionalInterface
    public interface Console {
        /** Refuses with a {@link PgloomError} a user who may not use the console, before answering the login. */
        void serve(ConsoleClient client) throws IOException, PgloomError;
    }

    /**
     * What the admin console asks of the running server beyond pooling: RELOAD, SET and SHUTDOWN
     * (PgloomServer owns the config file, logging and the listeners).
     */
    public interface Control {
        /** Re-reads the config as SIGHUP does; false if it was refused (the old one keeps serving). */
        boolean reload();

        /**
         * SET: applies one reloadable setting. Throws IllegalArgumentException saying why not.
         * Returns a notice for the admin, or null: a TLS setting is taken even when its files do
         * not load (as in PgBouncer), and the notice says the old TLS keeps serving.
         */
        String set(String name, String value);

        /** SHUTDOWN: stops the server, now or after the clients or servers are gone; runs on its own thread. */
        void shutdown(ShutdownMode mode);
    }

    /** SHUTDOWN's forms. */
    public enum ShutdownMode {
        IMMEDIATE, WAIT_FOR_SERVERS, WAIT_FOR_CLIENTS
    }

    private volatile Control control;
    private volatile PgloomConfig config;
    private volatile PoolerSettings settings;
    private volatile Map<String, UserSecret> users;
    private volatile boolean hasAuthFile;
    /**
     * SCRAM secrets derived from plain auth_file passwords: scram_iterations PBKDF2 rounds once per
     * user, not per login. Emptied by every reload and SET, so a new scram_iterations applies.
     */
    private final ConcurrentHashMap<UserSecret, ScramSecret> derivedScram = new ConcurrentHashMap<>();
    /**
     * pgloom's own background loops (maintenance, stats_period, the client janitor). Server
     * connections live in their pool's scope ({@link Pool#scope}), so a freed pool ends its own.
     */
    private final TaskScope serverScope = new TaskScope("servers");
    private final Pools pools = new Pools(this);
    /** The failover topology and its probes: which hosts the pools of multi-host entries may use. */
    private final HostRouting routing;
    private final ClientRegistry clients;
    private final int defaultPeerId;
    private final CancelRouter cancels;
    private final AdminState admin;
    private final StatsTicker stats = new StatsTicker(pools, () -> config.settings());
    private final Maintenance maintenance = new Maintenance(this, pools);
    private final ClientJanitor janitor = new ClientJanitor(this);
    private final InjectionPoints injectionPoints = new InjectionPoints();
    /** track_extra_parameters needs a restart, as in PgBouncer: read once, from the first config. */
    private final TrackedParameters trackedParameters;
    /** Server-side names of named prepared statements, shared by every pool. */
    private final StatementRegistry statementRegistry = new StatementRegistry();
    /**
     * What a client is told when a waiting shutdown ends its session between transactions; the
     * first words are PgBouncer's, which scripts and its test suite look for.
     */
    public static final String SERVER_SHUTTING_DOWN = "server shutting down (pgloom is stopping)";

    private volatile boolean shuttingDown;
    private volatile boolean refusingNewClients;
    private volatile boolean closing;
    private volatile Console console;
    /** TLS towards clients (client_tls_*), replaced as a whole on RELOAD and SET; null: off. */
    private volatile TlsAcceptor clientTls;
    /** TLS towards servers (server_tls_*), replaced as a whole on RELOAD and SET; null: disable. */
    private volatile TlsConnector serverTls;
    /** pgloom's own metrics, fed by the data path; the metrics listener exports them. */
    private final PoolerMetrics metrics = new PoolerMetrics();

    /** {@code peerId}: the id new cancel keys carry while the config's peer_id is 0 (0: none). */
    public Pooler(PgloomConfig config, Map<String, UserSecret> users, boolean hasAuthFile, int peerId) {
        this.defaultPeerId = peerId;
        this.clients = new ClientRegistry(peerId);
        this.cancels = new CancelRouter(clients::peerId, clients);
        this.admin = new AdminState(pools, clients, serverScope);
        this.trackedParameters = new TrackedParameters(config.settings().list("track_extra_parameters"));
        this.routing = new HostRouting(this, pools, config);
        apply(config, users, hasAuthFile);
        serverScope.start("pool-maintenance", () -> maintenance.loop(serverScope));
        serverScope.start("stats-period", () -> stats.loop(serverScope));
        serverScope.start("client-janitor", () -> janitor.loop(serverScope));
        routing.start(serverScope);
    }

    // ---------------------------------------------------------------- the config snapshot

    /** Takes a new config snapshot: new clients and new server connections follow it at once. */
    public void apply(PgloomConfig config, Map<String, UserSecret> users, boolean hasAuthFile) {
        apply(config, users, hasAuthFile, true);
    }

    /** {@code reload}: a RELOAD or SIGHUP (it lifts the failover fences), not a SET. */
    private void apply(PgloomConfig config, Map<String, UserSecret> users, boolean hasAuthFile, boolean reload) {
        this.config = config;
        this.settings = PoolerSettings.from(config.settings());
        this.users = Map.copyOf(users);
        derivedScram.clear();
        this.hasAuthFile = hasAuthFile;
        int peerId = config.settings().integer("peer_id");
        clients.peerId(peerId != 0 ? peerId : defaultPeerId);
        pools.reconfigure();
        routing.reconfigure(config, reload);
    }

    /** SET: this config with one setting changed, applied as a reload of that value would be. */
    public void applySettings(SettingValues next) {
        apply(config.withSettings(next), users, hasAuthFile, false);
    }

    HostRouting routing() {
        return routing;
    }

    /** What the probes know of every watched host (SHOW HOSTS, metrics, ENABLE HOST). */
    public io.pgloom.failover.Topology topology() {
        return routing.topology();
    }

    /** Starts a probe round now (ENABLE HOST, tests). */
    public void probeHostsNow() {
        routing.monitor().probeNow();
    }

    /** The startup parameters that follow each client: PgBouncer's five and track_extra_parameters. */
    public TrackedParameters trackedParameters() {
        return trackedParameters;
    }

    public PoolerSettings settings() {
        return settings;
    }

    /** The TLS side shown to clients that ask for it; null when client_tls_sslmode is disable. */
    public TlsAcceptor clientTls() {
        return clientTls;
    }

    /** Set by the server after it loaded the client_tls_* files (at start, RELOAD, SET); connected clients keep theirs. */
    public void clientTls(TlsAcceptor acceptor) {
        this.clientTls = acceptor;
    }

    /** How new server connections use TLS; null when server_tls_sslmode is disable. */
    public TlsConnector serverTls() {
        return serverTls;
    }

    /**
     * Set by the server after it loaded the server_tls_* files (at start, RELOAD, SET). With
     * {@code changedSettings} (server_tls_* whose values changed), every open server connection is
     * closed once released, the idle ones at once, as PgBouncer does: they were made under the
     * old rules.
     */
    public void serverTls(TlsConnector connector, List<String> changedSettings) {
        this.serverTls = connector;
        if (!changedSettings.isEmpty()) {
            pools.reconnectAll("server TLS settings changed (" + String.join(", ", changedSettings) + ")");
        }
    }

    public PgloomConfig config() {
        return config;
    }

    public Optional<DatabaseEntry> database(String name) {
        return config.database(name);
    }

    public Optional<UserSecret> userSecret(String user) {
        return Optional.ofNullable(users.get(user));
    }

    /** The user names of auth_file, for SHOW USERS. */
    public Set<String> authFileUsers() {
        return users.keySet();
    }

    public boolean hasAuthFile() {
        return hasAuthFile;
    }

    /** The SCRAM secret to check a client against, for a plain or SCRAM auth_file entry. */
    public ScramSecret scramSecret(UserSecret secret) {
        if (secret.kind() == UserSecret.Kind.SCRAM) {
            return ScramSecret.parseOrExplain(secret.secret());
        }
        int iterations = scramIterations();
        return derivedScram.computeIfAbsent(secret, s -> ScramSecrets.fromPassword(s.secret(), iterations));
    }

    /** scram_iterations; a value below 1, which PBKDF2 cannot use, stands for the default 4096. */
    public int scramIterations() {
        int iterations = settings.scramIterations();
        return iterations > 0 ? iterations : ScramSecrets.DEFAULT_ITERATIONS;
    }

    /** The pool mode for a user of a database: [users] beats [databases] beats [pgbouncer]. */
    public PoolMode poolMode(DatabaseEntry db, String user) {
        UserEntry u = config.users().get(user);
        if (u != null && u.poolMode().isPresent()) {
            return u.poolMode().get();
        }
        return db.poolMode().orElse(settings.poolMode());
    }

    /** What pgloom proves to the server as {@code serverUser} of {@code db}, from the entry or auth_file. */
    ServerCredentials credentials(DatabaseEntry db, String serverUser) {
        // password= belongs to the entry's user= (or to everyone when the entry forces no user).
        if (db.password() != null && (db.user() == null || db.user().equals(serverUser))) {
            return new ServerCredentials(serverUser, db.password(), null, null, null);
        }
        UserSecret s = users.get(serverUser);
        if (s == null) {
            return ServerCredentials.none(serverUser);
        }
        return switch (s.kind()) {
            case PLAIN -> new ServerCredentials(serverUser, s.secret(), null, null, null);
            case MD5 -> new ServerCredentials(serverUser, null, s.secret(), null, null);
            case SCRAM -> ServerCredentials.none(serverUser);
        };
    }

    // ---------------------------------------------------------------- pools

    /** The pool a client of {@code db} logged in as {@code clientUser} uses. */
    public Pool pool(DatabaseEntry db, String clientUser) {
        return pools.join(db, db.user() != null ? db.user() : clientUser, true);
    }

    /**
     * The pool through which {@code authUser} runs auth_query on {@code authDb}: the same pool a
     * client logged in as that user would use, as in PgBouncer, so its connections are reused from
     * one login to the next.
     */
    public Pool authPool(DatabaseEntry authDb, String authUser) {
        return pools.join(authDb, authUser, false);
    }

    /** The pool of ({@code database}, server user {@code user}) if it exists yet, else null. */
    public Pool existingPool(String database, String user) {
        return pools.existing(database, user);
    }

    /** A server connection closed somewhere: pools capped by a shared budget may open one now. */
    public void budgetFreed(Pool from) {
        pools.budgetFreed(from);
    }

    /** {@code from} was refused a budget slot: an idle server of a pool sharing that budget is closed to free one. */
    public void evictIdleFor(Pool from, boolean byDatabase) {
        pools.evictIdleFor(from, byDatabase);
    }

    /** Server connections open (or opening) now against max_db_connections / max_user_connections. */
    public int serverConnections(String name, boolean byDatabase) {
        return pools.serverConnections(name, byDatabase);
    }

    /** A compact view for logs and tests. */
    public List<String> describePools() {
        return pools.describe();
    }

    // ---------------------------------------------------------------- clients and cancels

    /** Counts a client against max_client_conn and gives it its cancel key. */
    public boolean admitClient(ClientSession client) {
        int max = settings.maxClientConn();
        if (clients.admit(client, max)) {
            return true;
        }
        if (max <= 0 || clients.count() <= max) {
            return false; // refused for another reason than the limit (no cancel key left)
        }
        // At the limit. A client that has just sent Terminate may still be counted: its own thread
        // reads the Terminate a moment later, where PgBouncer's one loop would have handled it before
        // this login. Give such departures a brief moment before refusing.
        long until = System.nanoTime() + ADMISSION_GRACE_NANOS;
        while (clients.count() > max && System.nanoTime() - until < 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
        }
        return clients.count() <= max;
    }

    private static final long ADMISSION_GRACE_NANOS = 100_000_000;

    /**
     * Counts a client against max_db_client_connections and max_user_client_connections; see
     * {@link ClientRegistry#admitByName}.
     *
     * @return the refusal's message, or null when the client is within both limits
     */
    public String admitByName(ClientSession client, DatabaseEntry db, String database, String user) {
        String refused = clients.admitByName(client, db, database, user, config, settings);
        // As for max_client_conn: a client of that name that has just sent Terminate may still be
        // counted for a moment; give such departures the same brief grace before refusing.
        long until = System.nanoTime() + ADMISSION_GRACE_NANOS;
        while (refused != null && System.nanoTime() - until < 0) {
            java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
            clients.uncountByName(client, database, user);
            refused = clients.admitByName(client, db, database, user, config, settings);
        }
        return refused;
    }

    public void clientGone(ClientSession client) {
        if (clients.remove(client)) {
            Pool p = client.pool();
            if (p != null) {
                pools.clientLeft(p);
            }
        }
    }

    public int clientCount() {
        return clients.count();
    }

    /** A CancelRequest arrived on its own connection. */
    public void cancel(int pid, int secret) {
        cancels.route(pid, secret);
    }

    /**
     * Installs where CancelRequests for other peers' clients go ([peers], or later the cluster);
     * null puts back the default, which drops them with a log line.
     */
    public void foreignCancels(ForeignCancels foreign) {
        cancels.foreign(foreign);
    }

    /** SHOW PEER_POOLS: the installed forwarder's pools, one per peer. */
    public List<ForeignCancels.PeerPoolView> peerPools() {
        return cancels.foreign().peerPools();
    }

    /** Where a test makes this pooler fail as a bug would; none armed outside tests. */
    public InjectionPoints injectionPoints() {
        return injectionPoints;
    }

    public ClientJanitor janitor() {
        return janitor;
    }

    public StatementRegistry statementRegistry() {
        return statementRegistry;
    }

    public PoolerMetrics metrics() {
        return metrics;
    }

    // ---------------------------------------------------------------- admin console and its commands

    /** Installs what RELOAD, SET and SHUTDOWN act on (PgloomServer does, at start). */
    public void control(Control control) {
        this.control = control;
    }

    public Control control() {
        return control;
    }

    /** Installs what serves admin console clients (PgloomServer does, at start). */
    public void console(Console console) {
        this.console = console;
    }

    public void serveConsole(ConsoleClient client) throws IOException, PgloomError {
        Console c = console;
        if (c == null) {
            throw PgloomError.fatal(SqlState.INVALID_CATALOG_NAME, "no such database: " + CONSOLE_DATABASE);
        }
        ClientSession session = client.session();
        clients.consoleJoined(session);
        try {
            c.serve(client);
        } finally {
            clients.consoleLeft(session);
        }
    }

    /** Clients logged into the admin console now. */
    public int consoleClientCount() {
        return clients.consoleCount();
    }

    /** Whether new transactions on {@code database} wait for RESUME. */
    public boolean isPaused(String database) {
        return admin.isPaused(database);
    }

    public boolean isPausedAll() {
        return admin.isPausedAll();
    }

    public boolean isDisabled(String database) {
        return admin.isDisabled(database);
    }

    /** PAUSE: new transactions of {@code database} (all if null) wait; idle servers close now, busy ones when released. */
    public void pause(String database) {
        admin.pause(database);
    }

    /** RESUME: waiting clients go on. False if nothing was paused there. */
    public boolean resume(String database) {
        return admin.resume(database);
    }

    public void disable(String database) {
        admin.disable(database);
    }

    public void enable(String database) {
        admin.enable(database);
    }

    /** RECONNECT: every server of {@code database} (all if null) is replaced once released. */
    public void reconnect(String database) {
        admin.reconnect(database);
    }

    /** KILL: pauses {@code database} (all if null) and drops its clients and servers at once. */
    public void kill(String database) {
        admin.kill(database);
    }

    /** KILL_CLIENT: closes the client whose SHOW CLIENTS id is {@code id}, and its server. False if none. */
    public boolean killClient(long id) {
        return admin.killClient(id);
    }

    /** Waits until {@code database}'s pools (all if null) hold no server: PAUSE returns then. */
    public void awaitNoServers(String database) throws InterruptedException {
        admin.awaitNoServers(database);
    }

    /** Waits until no server marked by RECONNECT or RELOAD is still open (WAIT_CLOSE). */
    public void awaitCloseNeeded(String database) throws InterruptedException {
        admin.awaitCloseNeeded(database);
    }

    /**
     * Waits until only admin console clients are left (SHUTDOWN WAIT_FOR_CLIENTS, SIGTERM), counting
     * the connections not admitted yet: one accepted just before the listener closed is admitted
     * only once its startup packet is read, and closing it then would cut off a client that did
     * nothing wrong (a rolling restart under a storm of connects showed it).
     */
    public void awaitNoClients() throws InterruptedException {
        while (true) {
            admin.awaitNoClients();
            if (serverScope.isClosed() || janitor.connected() <= clients.count()) {
                return;
            }
            Thread.sleep(20);
        }
    }

    // ---------------------------------------------------------------- what SHOW and the metrics read

    /**
     * Every pool's state (SHOW POOLS, SHOW SERVERS, the metrics, /ready), sorted by database and
     * user. Takes no lock the data path takes (see {@link Pool#view}): the figures are a sample,
     * each current but possibly a moment apart from the others. Clients are counted from the
     * client registry, a concurrent map.
     */
    public List<PoolView> poolViews() {
        return pools.views(clients.perPool());
    }

    /**
     * Every logged-in client (SHOW CLIENTS): pool clients first, then console clients. Takes no
     * lock: a client's link is found from the servers' side (each server's volatile link field).
     */
    public List<ConnectionView> clientViews() {
        return clients.views(pools.linkedClients());
    }

    /** Logged-in clients per database name and per user name: DATABASES' and USERS' current_client_connections. */
    public Map<String, Integer> clientCounts(boolean byDatabase) {
        return clients.counts(byDatabase);
    }

    /** The console's own counters: the pgbouncer database's row in SHOW STATS. */
    public PoolStats consoleStats() {
        return stats.consoleStats();
    }

    /** The base of the averages, seen whole: a stats_period tick in progress is in it entirely or not at all. */
    public StatsBase statsBase() {
        return stats.base();
    }

    /**
     * The statistics per database, sorted by name, PgBouncer's pools added up by database; the
     * admin console's own counters are the row of {@link #CONSOLE_DATABASE}. SHOW STATS and its
     * kin and the log_stats lines all read this.
     */
    public SortedMap<String, DatabaseStats> statsByDatabase(StatsBase base) {
        return stats.byDatabase(base);
    }

    // ---------------------------------------------------------------- shutdown

    /** When the waiting shutdown began (nanoTime); written before {@link #shuttingDown}. */
    private volatile long serverShutdownAtNanos;

    /** True from the start of a shutdown on: new clients are refused, /ready answers 503. */
    public boolean isShuttingDown() {
        return shuttingDown;
    }

    /**
     * From a waiting shutdown's start on (SHUTDOWN WAIT_FOR_CLIENTS/WAIT_FOR_SERVERS, SIGTERM,
     * SIGINT): logins other than the admin console's are refused; connected clients go on.
     */
    public void refuseNewClients() {
        refusingNewClients = true;
    }

    /**
     * From here on no client starts a new transaction (SHUTDOWN WAIT_FOR_SERVERS, SIGINT): set by
     * the command itself, before it is answered, so that a query sent right after the answer is
     * refused; {@link #shutdown} then waits for the running ones.
     */
    public void beginServerShutdown() {
        refusingNewClients = true;
        if (!shuttingDown) {
            serverShutdownAtNanos = System.nanoTime();
            shuttingDown = true;
        }
        pools.all().forEach(Pool::wakeAll); // each waiter learns when it is sent away
    }

    /** How long a client waiting for a server at {@code now} still waits before a waiting shutdown sends it away. */
    public long waiterSendOffIn(long now) {
        return shuttingDown ? serverShutdownAtNanos + WAITER_SEND_OFF_NANOS - now : Long.MAX_VALUE;
    }

    /**
     * How long after a waiting shutdown begins its waiting clients are sent away: about a round of
     * PgBouncer's janitor, which sends them away there. Those who watch (PgBouncer's own tests
     * among them) see it happen just after SHUTDOWN's answer, as with PgBouncer, not before it.
     */
    private static final long WAITER_SEND_OFF_NANOS = 100_000_000;

    /** New logins to a pool are refused: a shutdown has begun. */
    public boolean refusesNewClients() {
        return refusingNewClients || shuttingDown;
    }

    /**
     * Graceful shutdown (PgBouncer's SHUTDOWN WAIT_FOR_SERVERS, SIGINT): refuse new clients, send
     * the ones waiting for a server away (within half a second), let linked ones finish their
     * transaction (each is closed as its server is released), close an idle one when it next asks
     * for a server; once no client holds or waits for a server, or {@code wait} has passed (null:
     * no limit), close everything.
     */
    public void shutdown(Duration wait) {
        beginServerShutdown(); // waiting clients see it at their next look (see Pool#acquire)
        // Console clients stay to watch the shutdown; they are closed with everything else at the end.
        long deadline = wait == null ? 0 : System.nanoTime() + wait.toNanos();
        while (clients.snapshot().stream().anyMatch(c -> !clients.isConsole(c) && (c.isLinked() || c.isAcquiring()))
                && (wait == null || System.nanoTime() - deadline < 0)) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        // The idle clients left (and the console) go now, told why in the same words.
        closeAllClients(SERVER_SHUTTING_DOWN);
    }

    /** The final close has begun: nobody logs in any more, not even to the console. */
    public boolean isClosing() {
        return closing;
    }

    @Override
    public void close() {
        closing = true;
        if (!shuttingDown) {
            serverShutdownAtNanos = System.nanoTime() - WAITER_SEND_OFF_NANOS; // waiters go at once
        }
        shuttingDown = true;
        closeAllClients("pgloom is shutting down");
        pools.all().forEach(p -> p.closeAll("pgloom is shutting down"));
        serverScope.close(); // first, so that maintenance opens no server while the pools close
        pools.all().forEach(Pool::closeScope);
    }

    private void closeAllClients(String message) {
        for (ClientSession c : clients.snapshot()) {
            c.closeWith(ErrorResponse.fatal(SqlState.ADMIN_SHUTDOWN, message));
        }
    }
}
