package io.pgloom.server.control;

import io.pgloom.server.backend.ServerConnection;
import io.pgloom.server.frontend.ClientJanitor;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.server.frontend.ConsoleClient;
import io.pgloom.server.pool.BudgetKey;
import io.pgloom.server.pool.ConnectionBudget;
import io.pgloom.server.pool.LocalConnectionBudget;
import io.pgloom.server.pool.RoundRobinSelector;
import io.pgloom.server.pool.ConnectionView;
import io.pgloom.server.pool.Pool;
import io.pgloom.server.pool.PoolKey;
import io.pgloom.server.pool.PoolStats;
import io.pgloom.server.pool.PoolView;
import io.pgloom.server.statements.StatementRegistry;
import io.pgloom.wire.backend.ServerCredentials;
import io.pgloom.wire.protocol.PgloomError;

import io.pgloom.config.DatabaseEntry;
import io.pgloom.config.PgloomConfig;
import io.pgloom.config.PoolMode;
import io.pgloom.config.UserEntry;
import io.pgloom.config.UserSecret;
import io.pgloom.server.TaskScope;
import io.pgloom.config.ScramSecret;
import io.pgloom.wire.auth.ScramSecrets;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.SqlState;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pooling state of one pgloom instance: the current config, its pools, the clients and their
 * cancel keys. Sessions and pools reach each other through it.
 *
 * <p>Threading: read by every client and server thread; a reload swaps immutable snapshots in
 * volatile fields; pools and client registries are concurrent maps. The maintenance thread (server
 * idle timeouts, lifetimes, min_pool_size, query_timeout) runs once a second; the client janitor
 * (client timeouts) three times a second.
 */
public final class Pooler implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Pooler.class);
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

        /** SET: applies one reloadable setting. Throws IllegalArgumentException saying why not. */
        void set(String name, String value);

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
    private final ConcurrentHashMap<PoolKey, Pool> pools = new ConcurrentHashMap<>();
    /** max_db_connections and max_user_connections, each shared by the pools of its database or user. */
    private final ConcurrentHashMap<BudgetKey, ConnectionBudget> budgets = new ConcurrentHashMap<>();
    /**
     * SCRAM secrets derived from plain auth_file passwords: scram_iterations PBKDF2 rounds once per
     * user, not per login. Emptied by every reload and SET, so a new scram_iterations applies.
     */
    private final ConcurrentHashMap<UserSecret, ScramSecret> derivedScram = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<ClientSession, Boolean> clients = new ConcurrentHashMap<>();
    private final AtomicInteger admitted = new AtomicInteger();
    /** Clients counted per database name and per login user name, for max_db/user_client_connections. */
    private final ConcurrentHashMap<String, AtomicInteger> clientsPerDatabase = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AtomicInteger> clientsPerUser = new ConcurrentHashMap<>();
    private final CancelKeys cancelKeys;
    /**
     * pgloom's own background loops (maintenance, stats_period, the client janitor). Server
     * connections live in their pool's scope ({@link Pool#scope}), so a freed pool ends its own.
     */
    private final TaskScope serverScope = new TaskScope("servers");
    private final ClientJanitor janitor = new ClientJanitor(this);
    /** Server-side names of named prepared statements, shared by every pool. */
    private final StatementRegistry statementRegistry = new StatementRegistry();
    private volatile boolean shuttingDown;
    private volatile Console console;
    /** Clients logged into the admin console (listed apart: they have no pool). */
    private final Set<ClientSession> consoleClients = ConcurrentHashMap.newKeySet();
    /** The console's own counters: the pgbouncer database's row in SHOW STATS, as in PgBouncer. */
    private final PoolStats consoleStats = new PoolStats();
    /** pgloom's own metrics, fed by the data path; the metrics listener exports them. */
    private final PoolerMetrics metrics = new PoolerMetrics();
    /** Makes a stats_period tick atomic for readers of the averages' base; never taken on the data path. */
    private final java.util.concurrent.locks.ReentrantLock statsLock = new java.util.concurrent.locks.ReentrantLock();
    /** nanoTime of the stats_period tick before the last one: PgBouncer's old_stamp, where averages start. */
    private long statsOlderStamp = System.nanoTime() - 1_000_000_000L;
    private long statsNewerStamp = System.nanoTime();

    public Pooler(PgloomConfig config, Map<String, UserSecret> users, boolean hasAuthFile, int instanceId) {
        this.cancelKeys = new CancelKeys(instanceId);
        apply(config, users, hasAuthFile);
        serverScope.start("pool-maintenance", this::maintainLoop);
        serverScope.start("stats-period", this::statsLoop);
        serverScope.start("client-janitor", () -> janitor.loop(serverScope));
    }

    /** Takes a new config snapshot: new clients and new server connections follow it at once. */
    public void apply(PgloomConfig config, Map<String, UserSecret> users, boolean hasAuthFile) {
        this.config = config;
        this.settings = PoolerSettings.from(config.settings());
        this.users = Map.copyOf(users);
        derivedScram.clear();
        this.hasAuthFile = hasAuthFile;
        for (Pool pool : pools.values()) {
            Optional<DatabaseEntry> db = config.database(pool.key().database());
            if (db.isPresent()) {
                if (!sameServer(pool.database(), db.get())) {
                    // As PgBouncer: servers made with the old connection string go once released (WAIT_CLOSE waits for them).
                    log.info("{}: connection string changed; its servers close as they are released", pool.key());
                    pool.reconnect();
                }
                pool.reconfigure(db.get(), settings, credentials(db.get(), pool.key().user()));
            }
        }
        budgets.forEach((key, b) -> b.setLimit(limit(key)));
    }

    private static boolean sameServer(DatabaseEntry a, DatabaseEntry b) {
        return a.hosts().equals(b.hosts()) && a.port() == b.port() && java.util.Objects.equals(a.serverDatabase(), b.serverDatabase())
                && java.util.Objects.equals(a.user(), b.user()) && java.util.Objects.equals(a.password(), b.password())
                && java.util.Objects.equals(a.connectQuery(), b.connectQuery());
    }

    public PoolerSettings settings() {
        return settings;
    }

    public PgloomConfig config() {
        return config;
    }

    public ClientJanitor janitor() {
        return janitor;
    }

    public StatementRegistry statementRegistry() {
        return statementRegistry;
    }

    public Optional<DatabaseEntry> database(String name) {
        return config.database(name);
    }

    public Optional<UserSecret> userSecret(String user) {
        return Optional.ofNullable(users.get(user));
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

    public boolean hasAuthFile() {
        return hasAuthFile;
    }

    /** The pool mode for a user of a database: [users] beats [databases] beats [pgbouncer]. */
    public PoolMode poolMode(DatabaseEntry db, String user) {
        UserEntry u = config.users().get(user);
        if (u != null && u.poolMode().isPresent()) {
            return u.poolMode().get();
        }
        return db.poolMode().orElse(settings.poolMode());
    }

    /** The pool a client of {@code db} logged in as {@code clientUser} uses. */
    public Pool pool(DatabaseEntry db, String clientUser) {
        return serverUserPool(db, db.user() != null ? db.user() : clientUser, true);
    }

    /**
     * pool_idle_timeout and autodb_idle_timeout: frees each pool that has had no client and no
     * server connection for that long (autodb_idle_timeout for a database made from the {@code *}
     * entry, pool_idle_timeout for the others; 0 = never). A later client makes it anew.
     */
    private void freeUnusedPools(long now) {
        long poolLimit = settings.poolIdleTimeout().toNanos();
        long autodbLimit = settings.autodbIdleTimeout().toNanos();
        for (PoolKey key : pools.keySet()) {
            boolean auto = config.databases().stream().noneMatch(d -> d.name().equals(key.database()));
            long limit = auto ? autodbLimit : poolLimit;
            if (limit <= 0) {
                continue;
            }
            Pool[] freed = {null};
            pools.computeIfPresent(key, (k, p) -> {
                if (!p.unusedFor(limit, now)) {
                    return p;
                }
                freed[0] = p;
                return null;
            });
            if (freed[0] != null) {
                freed[0].closeScope(); // outside the map operation: it waits for the pool's tasks to end
                log.info("{}: pool freed after {} s unused ({})", key, limit / 1_000_000_000.0,
                        auto ? "autodb_idle_timeout" : "pool_idle_timeout");
            }
        }
    }

    /** The budget of {@code key}, made with {@code limit} if missing: where a cluster-wide budget plugs in. */
    private ConnectionBudget budget(BudgetKey key, int limit) {
        return budgets.computeIfAbsent(key, k -> new LocalConnectionBudget(limit));
    }

    /** The cap of {@code key} in the current config, for a reload. */
    private int limit(BudgetKey key) {
        return switch (key.kind()) {
            case DATABASE -> dbLimit(config.database(key.name()).orElse(null));
            case USER -> userLimit(key.name());
        };
    }

    private int dbLimit(DatabaseEntry db) {
        return db != null && db.maxDbConnections().isPresent() ? db.maxDbConnections().getAsInt() : settings.maxDbConnections();
    }

    private int userLimit(String user) {
        UserEntry u = config.users().get(user);
        return u != null && u.maxUserConnections().isPresent() ? u.maxUserConnections().getAsInt() : settings.maxUserConnections();
    }

    /**
     * The pool through which {@code authUser} runs auth_query on {@code authDb}: the same pool a
     * client logged in as that user would use, as in PgBouncer, so its connections are reused from
     * one login to the next.
     */
    public Pool authPool(DatabaseEntry authDb, String authUser) {
        return serverUserPool(authDb, authUser, false);
    }

    /**
     * The pool of {@code serverUser} on {@code db}, made if missing. A client that joins it counts
     * towards keeping it; auth_query's own use only restarts its unused time (its servers keep it
     * while a query runs). compute, not computeIfAbsent: this is atomic with freeUnusedPools'
     * removal of the key.
     */
    private Pool serverUserPool(DatabaseEntry db, String serverUser, boolean clientJoins) {
        PoolKey key = new PoolKey(db.name(), serverUser);
        return pools.compute(key, (k, existing) -> {
            Pool p = existing != null ? existing : new Pool(k, this, db, settings, credentials(db, serverUser),
                    budget(BudgetKey.database(db.name()), dbLimit(db)), budget(BudgetKey.user(serverUser), userLimit(serverUser)),
                    new RoundRobinSelector());
            if (clientJoins) {
                p.clientJoined();
            } else {
                p.touched(System.nanoTime());
            }
            return p;
        });
    }

    private ServerCredentials credentials(DatabaseEntry db, String serverUser) {
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

    /** Counts a client against max_client_conn and gives it its cancel key. */
    public boolean admitClient(ClientSession client) {
        clients.put(client, Boolean.TRUE);
        cancelKeys.assign(client);
        int n = admitted.incrementAndGet();
        int max = settings.maxClientConn();
        return max <= 0 || n <= max;
    }

    /**
     * Counts a client against max_db_client_connections and max_user_client_connections (the
     * entry's own limit, else the global one; 0 = none), as PgBouncer does before authentication.
     * The client counts even when refused, until {@link #clientGone}, like max_client_conn. An
     * admin_users member logging into the admin console is never refused, as in PgBouncer.
     *
     * @return the refusal's message, or null when the client is within both limits
     */
    public String admitByName(ClientSession client, DatabaseEntry db, String database, String user) {
        client.countedByName = true;
        int perDatabase = clientsPerDatabase.computeIfAbsent(database, n -> new AtomicInteger()).incrementAndGet();
        int perUser = clientsPerUser.computeIfAbsent(user, n -> new AtomicInteger()).incrementAndGet();
        if (db == null && settings.adminUsers().contains(user)) {
            return null;
        }
        int dbLimit = db != null && db.maxDbClientConnections().isPresent()
                ? db.maxDbClientConnections().getAsInt() : settings.maxDbClientConnections();
        if (dbLimit > 0 && perDatabase > dbLimit) {
            return "client connections exceeded (max_db_client_connections)";
        }
        UserEntry u = config.users().get(user);
        int userLimit = u != null && u.maxUserClientConnections().isPresent()
                ? u.maxUserClientConnections().getAsInt() : settings.maxUserClientConnections();
        if (userLimit > 0 && perUser > userLimit) {
            return "client connections exceeded (max_user_client_connections)";
        }
        return null;
    }

    public void clientGone(ClientSession client) {
        if (clients.remove(client) != null) {
            admitted.decrementAndGet();
            cancelKeys.forget(client);
            Pool p = client.pool();
            if (p != null) {
                pools.computeIfPresent(p.key(), (k, same) -> {
                    same.clientLeft(System.nanoTime());
                    return same;
                });
            }
            if (client.countedByName) {
                clientsPerDatabase.get(client.databaseName()).decrementAndGet();
                clientsPerUser.get(client.user()).decrementAndGet();
            }
        }
    }

    public int clientCount() {
        return admitted.get();
    }

    /** A CancelRequest arrived on its own connection. */
    public void cancel(int pid, int secret) {
        ClientSession c = cancelKeys.find(pid, secret);
        if (c == null) {
            log.info("cancel request for unknown client key {} ignored", Integer.toHexString(pid));
            return;
        }
        c.forwardCancel();
    }

    /** A server connection closed somewhere: pools capped by a shared budget may open one now. */
    public void budgetFreed(Pool from) {
        for (Pool p : pools.values()) {
            if (p != from && (p.key().database().equals(from.key().database()) || p.key().user().equals(from.key().user()))) {
                p.wakeHead();
            }
        }
    }

    public PoolerMetrics metrics() {
        return metrics;
    }

    /** True from the start of a shutdown on: new clients are refused, /ready answers 503. */
    public boolean isShuttingDown() {
        return shuttingDown;
    }

    private void maintainLoop() {
        while (!serverScope.isClosed()) {
            try {
                Thread.sleep(1000);
            } catch (InterruptedException e) {
                return;
            }
            long now = System.nanoTime();
            for (Pool p : pools.values()) {
                try {
                    p.checkQueryTimeouts(now);
                    p.maintain(now);
                } catch (RuntimeException e) {
                    log.error("maintenance of pool {} failed", p.key(), e);
                }
            }
            freeUnusedPools(now);
        }
    }

    /**
     * Graceful shutdown: refuse new clients, close idle ones, let linked ones finish their
     * transaction (each is closed as its server is released), then close whatever is left once
     * {@code wait} has passed (null: no limit, SHUTDOWN WAIT_FOR_SERVERS).
     */
    public void shutdown(Duration wait) {
        shuttingDown = true;
        for (ClientSession c : new ArrayList<>(clients.keySet())) {
            if (!c.isLinked()) {
                c.closeWith(ErrorResponse.fatal(SqlState.ADMIN_SHUTDOWN, "pgloom is shutting down"));
            }
        }
        long deadline = wait == null ? 0 : System.nanoTime() + wait.toNanos();
        while (!clients.isEmpty() && (wait == null || System.nanoTime() - deadline < 0)) {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        for (ClientSession c : new ArrayList<>(clients.keySet())) {
            c.closeWith(ErrorResponse.fatal(SqlState.ADMIN_SHUTDOWN, "pgloom is shutting down"));
        }
    }

    @Override
    public void close() {
        shuttingDown = true;
        for (ClientSession c : new ArrayList<>(clients.keySet())) {
            c.closeWith(ErrorResponse.fatal(SqlState.ADMIN_SHUTDOWN, "pgloom is shutting down"));
        }
        pools.values().forEach(p -> p.closeAll("pgloom is shutting down"));
        serverScope.close(); // first, so that maintenance opens no server while the pools close
        pools.values().forEach(Pool::closeScope);
    }

    // ---------------------------------------------------------------- admin console and statistics

    /** Installs what RELOAD, SET and SHUTDOWN act on (PgloomServer does, at start). */
    public void control(Control control) {
        this.control = control;
    }

    public Control control() {
        return control;
    }

    /** SET: this config with one setting changed, applied as a reload of that value would be. */
    public void applySettings(io.pgloom.config.SettingValues next) {
        apply(config.withSettings(next), users, hasAuthFile);
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
        consoleClients.add(session);
        try {
            c.serve(client);
        } finally {
            consoleClients.remove(session);
        }
    }

    public PoolStats consoleStats() {
        return consoleStats;
    }

    /** Clients logged into the admin console now. */
    public int consoleClientCount() {
        return consoleClients.size();
    }

    /**
     * Every pool's state (SHOW POOLS, SHOW SERVERS, the metrics, /ready), sorted by database and
     * user. Takes no lock the data path takes (see {@link Pool#view}): the figures are a sample,
     * each current but possibly a moment apart from the others. Clients are counted from the
     * client registry, a concurrent map.
     */
    public List<PoolView> poolViews() {
        long now = System.nanoTime();
        long nowMillis = System.currentTimeMillis();
        Map<Pool, Integer> clientsPerPool = new java.util.IdentityHashMap<>();
        for (ClientSession c : clients.keySet()) {
            Pool p = c.pool();
            if (p != null) {
                clientsPerPool.merge(p, 1, Integer::sum);
            }
        }
        List<PoolView> views = new ArrayList<>();
        for (Pool p : pools.values()) {
            views.add(p.view(now, nowMillis).withClients(clientsPerPool.getOrDefault(p, 0)));
        }
        views.sort(java.util.Comparator.comparing(PoolView::database).thenComparing(PoolView::user));
        return views;
    }

    /**
     * Every logged-in client (SHOW CLIENTS): pool clients first, then console clients. Takes no
     * lock: a client's link is found from the servers' side (each server's volatile link field).
     */
    public List<ConnectionView> clientViews() {
        long now = System.nanoTime();
        long nowMillis = System.currentTimeMillis();
        Map<ClientSession, ServerConnection> linked = new java.util.IdentityHashMap<>();
        for (Pool p : pools.values()) {
            for (ServerConnection s : p.servers()) {
                var l = s.link();
                if (l != null) {
                    linked.put(l.client(), s);
                }
            }
        }
        List<ConnectionView> views = new ArrayList<>();
        for (ClientSession c : clients.keySet()) {
            Pool p = c.pool();
            if (p != null) {
                views.add(c.view(p.key().database(), linked.get(c), now, nowMillis));
            }
        }
        for (ClientSession c : consoleClients) {
            views.add(c.view(CONSOLE_DATABASE, null, now, nowMillis));
        }
        return views;
    }

    /** Logged-in clients per database name and per user name: DATABASES' and USERS' current_client_connections. */
    public Map<String, Integer> clientCounts(boolean byDatabase) {
        Map<String, Integer> counts = new java.util.HashMap<>();
        for (ClientSession c : clients.keySet()) {
            Pool p = c.pool();
            if (p != null) {
                counts.merge(byDatabase ? p.key().database() : c.user(), 1, Integer::sum);
            }
        }
        for (ClientSession c : consoleClients) {
            counts.merge(byDatabase ? CONSOLE_DATABASE : c.user(), 1, Integer::sum);
        }
        return counts;
    }

    /** Server connections open (or opening) now against max_db_connections / max_user_connections. */
    public int serverConnections(String name, boolean byDatabase) {
        ConnectionBudget b = budgets.get(byDatabase ? BudgetKey.database(name) : BudgetKey.user(name));
        return b == null ? 0 : b.used();
    }

    /** The user names of auth_file, for SHOW USERS. */
    public Set<String> authFileUsers() {
        return users.keySet();
    }

    /**
     * The base of the averages: every pool's totals at the stats_period tick before the latest,
     * and how long ago (µs) that tick was, PgBouncer's {@code now - old_stamp}. Taken under the
     * stats lock, so a tick in progress is seen whole or not at all; no data path takes that lock.
     */
    public record StatsBase(long micros, Map<PoolStats, PoolStats.Totals> older) {
        /** The base of {@code stats}; zero for a pool made after that tick. */
        public PoolStats.Totals of(PoolStats stats) {
            return older.getOrDefault(stats, PoolStats.Totals.ZERO);
        }
    }

    public StatsBase statsBase() {
        statsLock.lock();
        try {
            Map<PoolStats, PoolStats.Totals> older = new java.util.IdentityHashMap<>();
            for (Pool p : pools.values()) {
                older.put(p.stats, p.stats.older());
            }
            older.put(consoleStats, consoleStats.older());
            return new StatsBase((System.nanoTime() - statsOlderStamp) / 1000, older);
        } finally {
            statsLock.unlock();
        }
    }

    /** One database's figures: its pools' totals now, and their totals at the base of the averages. */
    public record DatabaseStats(PoolStats.Totals current, PoolStats.Totals older) {
        DatabaseStats plus(DatabaseStats o) {
            return new DatabaseStats(current.plus(o.current), older.plus(o.older));
        }

        /** PgBouncer's averages over the {@code micros} since the base (SHOW STATS_AVERAGES, log_stats). */
        public PoolStats.Totals averages(long micros) {
            return current.averagesSince(older, micros);
        }
    }

    /**
     * The statistics per database, sorted by name, PgBouncer's pools added up by database; the
     * admin console's own counters are the row of {@link #CONSOLE_DATABASE}. SHOW STATS and its
     * kin and the log_stats lines all read this.
     */
    public java.util.SortedMap<String, DatabaseStats> statsByDatabase(StatsBase base) {
        java.util.SortedMap<String, DatabaseStats> m = new java.util.TreeMap<>();
        m.put(CONSOLE_DATABASE, new DatabaseStats(consoleStats.totals(), base.of(consoleStats)));
        for (Pool p : pools.values()) {
            m.merge(p.key().database(), new DatabaseStats(p.stats.totals(), base.of(p.stats)), DatabaseStats::plus);
        }
        return m;
    }

    /**
     * Every stats_period seconds, as PgBouncer's refresh_stats: each pool's latest totals become
     * the newer snapshot and the previous newer one the older, the base of the averages; then, with
     * log_stats, one line per database. The loop wakes every second and reads stats_period and
     * log_stats each time, so a reload or SET takes effect within a second, not after the old
     * period has run out.
     */
    private void statsLoop() {
        long lastTick = System.nanoTime();
        while (!serverScope.isClosed()) {
            long periodNanos = Math.max(1, config.settings().integer("stats_period")) * 1_000_000_000L;
            long left = periodNanos - (System.nanoTime() - lastTick);
            if (left > 0) {
                try {
                    Thread.sleep(Math.min(1000, Math.max(1, left / 1_000_000)));
                } catch (InterruptedException e) {
                    return;
                }
                continue;
            }
            lastTick = System.nanoTime();
            rotateStats();
            if (config.settings().bool("log_stats")) {
                logStats();
            }
        }
    }

    /** log_stats: each database's averages over the last stats_period, as SHOW STATS_AVERAGES has them now. */
    private void logStats() {
        StatsBase base = statsBase();
        statsByDatabase(base).forEach((database, d) -> {
            if (database.equals(CONSOLE_DATABASE)) {
                return; // the console's own traffic is not what an operator watches the log for
            }
            PoolStats.Totals a = d.averages(base.micros());
            log.info("stats for database {}: {} xacts/s, {} queries/s, in {} B/s, out {} B/s, xact {} us, query {} us,"
                    + " wait {} us", database, a.transactions(), a.queries(), a.bytesReceived(), a.bytesSent(),
                    a.transactionMicros(), a.queryMicros(), a.waitMicros());
        });
    }

    void rotateStats() {
        statsLock.lock();
        try {
            statsOlderStamp = statsNewerStamp;
            statsNewerStamp = System.nanoTime();
            for (Pool p : pools.values()) {
                p.stats.rotate();
            }
            consoleStats.rotate();
        } finally {
            statsLock.unlock();
        }
    }

    // ---------------------------------------------------------------- admin commands

    /** PAUSE without a database (and SHUTDOWN WAIT_FOR_SERVERS): every pool waits. */
    private volatile boolean pausedAll;
    /** Databases paused by PAUSE db or KILL db, until RESUME. */
    private final Set<String> pausedDatabases = ConcurrentHashMap.newKeySet();
    /** Databases where DISABLE refuses new logins, until ENABLE. */
    private final Set<String> disabledDatabases = ConcurrentHashMap.newKeySet();

    /** Whether new transactions on {@code database} wait for RESUME. */
    public boolean isPaused(String database) {
        return pausedAll || pausedDatabases.contains(database);
    }

    public boolean isPausedAll() {
        return pausedAll;
    }

    public boolean isDisabled(String database) {
        return disabledDatabases.contains(database);
    }

    /** PAUSE: new transactions of {@code database} (all if null) wait; idle servers close now, busy ones when released. */
    public void pause(String database) {
        if (database == null) {
            pausedAll = true;
        } else {
            pausedDatabases.add(database);
        }
        log.info("paused {}", database == null ? "all databases" : "database " + database);
        pools(database).forEach(p -> p.closeIdle("database paused"));
    }

    /** RESUME: waiting clients go on. False if nothing was paused there. */
    public boolean resume(String database) {
        boolean was = database == null ? pausedAll : pausedDatabases.remove(database);
        if (database == null) {
            pausedAll = false;
            pausedDatabases.clear(); // PgBouncer's RESUME also ends a per-database pause
        }
        if (was) {
            log.info("resumed {}", database == null ? "all databases" : "database " + database);
            pools(database).forEach(Pool::wakeAll);
        }
        return was;
    }

    public void disable(String database) {
        disabledDatabases.add(database);
        log.info("database {} disabled: new logins refused", database);
    }

    public void enable(String database) {
        disabledDatabases.remove(database);
        log.info("database {} enabled", database);
    }

    /** RECONNECT: every server of {@code database} (all if null) is replaced once released. */
    public void reconnect(String database) {
        log.info("RECONNECT {}: servers close as they are released", database == null ? "all databases" : database);
        pools(database).forEach(Pool::reconnect);
    }

    /** KILL: pauses {@code database} and drops its clients and servers at once. */
    public void kill(String database) {
        pausedDatabases.add(database);
        log.info("KILL {}: paused, dropping its clients and servers", database);
        for (ClientSession c : new ArrayList<>(clients.keySet())) {
            Pool p = c.pool();
            if (p != null && p.key().database().equals(database)) {
                c.closeWith(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "database removed"));
            }
        }
        pools(database).forEach(p -> p.closeAll("database removed"));
    }

    /** KILL_CLIENT: closes the client whose SHOW CLIENTS id is {@code id}, and its server. False if none. */
    public boolean killClient(long id) {
        for (ClientSession c : clients.keySet()) {
            if (Integer.toUnsignedLong(c.cancelPid) == id) {
                c.closeWith(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "admin forced disconnect"));
                return true;
            }
        }
        return false;
    }

    /** Waits until {@code database}'s pools (all if null) hold no server: PAUSE returns then. */
    public void awaitNoServers(String database) throws InterruptedException {
        while (!serverScope.isClosed() && pools(database).stream().anyMatch(p -> p.serverCount() > 0)) {
            Thread.sleep(20);
        }
    }

    /** Waits until no server marked by RECONNECT or RELOAD is still open (WAIT_CLOSE). */
    public void awaitCloseNeeded(String database) throws InterruptedException {
        while (!serverScope.isClosed() && pools(database).stream().anyMatch(Pool::hasCloseNeeded)) {
            Thread.sleep(20);
        }
    }

    /** Waits until only admin console clients are left (SHUTDOWN WAIT_FOR_CLIENTS). */
    public void awaitNoClients() throws InterruptedException {
        while (!serverScope.isClosed() && clients.size() > consoleClients.size()) {
            Thread.sleep(20);
        }
    }

    /** The pool of ({@code database}, server user {@code user}) if it exists yet, else null. */
    public Pool existingPool(String database, String user) {
        return pools.get(new PoolKey(database, user));
    }

    private List<Pool> pools(String database) {
        List<Pool> out = new ArrayList<>();
        for (Pool p : pools.values()) {
            if (database == null || p.key().database().equals(database)) {
                out.add(p);
            }
        }
        return out;
    }

    /** A compact view for logs and tests. */
    public List<String> describePools() {
        List<String> out = new ArrayList<>();
        pools.forEach((k, p) -> out.add(k + " " + p.counts()));
        return out;
    }
}
