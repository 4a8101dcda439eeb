package io.pgloom.server.pool;

import io.pgloom.server.carrier.Carriers;
import io.pgloom.wire.backend.BackendConnector;
import io.pgloom.wire.backend.BackendOptions;
import io.pgloom.config.DatabaseEntry;
import io.pgloom.config.PoolMode;
import io.pgloom.server.TaskScope;
import io.pgloom.server.backend.DedicatedServer;
import io.pgloom.server.backend.ServerConnection;
import io.pgloom.server.control.Pooler;
import io.pgloom.server.control.PoolerMetrics;
import io.pgloom.server.control.PoolerSettings;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.wire.backend.Endpoint;
import io.pgloom.wire.backend.ServerCredentials;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.PgloomError;
import io.pgloom.wire.protocol.SqlState;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The server connections of one (database, user) pair, and the clients waiting for one.
 *
 * <p>Threading: any client thread may {@link #acquire}; server reader threads {@link #release}
 * and {@link #discard}; the pooler's maintenance thread calls {@link #maintain}. All state is
 * guarded by one lock, held only for bookkeeping: connecting and logging in happen outside it.
 *
 * <p>Lock order: the pool's lock is never held while calling out, neither to the shared
 * {@link ConnectionBudget}s (a cluster-wide one may ask its peers) nor to another pool (waking
 * the pools that share a budget). A caller that may open a connection first claims room under the
 * lock ({@link #claiming}), keeping its place at the head of the line, then takes the budget slots
 * without it, then comes back under the lock to turn the claim into an opening connection, or, if
 * refused, to drop the claim and wait for a slot to be given back.
 *
 * <p>Waiting is first come, first served: a released connection is handed directly to the
 * longest-waiting client, so a newcomer can never overtake a client that already waits.
 *
 * <p>Each pool owns a {@link TaskScope} for its tasks: its server connections' reader threads
 * and releases waiting for cancels. Freeing the pool (pool_idle_timeout, autodb_idle_timeout) or
 * closing pgloom closes it, so no task outlives its pool. A scope costs one parked virtual thread
 * (its owner), little beside what a pool already holds (a reader thread and a socket per server
 * connection), and a pool left without servers for long is freed; so one per pool, even for
 * thousands of small pools, rather than a shared scope that could not end one pool's tasks alone.
 *
 * <p>A connection that idled longer than server_check_delay is checked (server_check_query) by
 * the client that takes it, outside the lock: see {@link ServerCheck}.
 *
 * <p>Readers (SHOW POOLS, SHOW SERVERS, SHOW CLIENTS, /metrics, /ready) never take the lock: see
 * {@link #view}. What they need is kept where they can read it without it: {@link #all} is a
 * copy-on-write list (written only when a server is added or removed, which is rare), the counts
 * of waiters and connections being opened and the longest waiter are volatile fields, and each
 * connection says itself where it is in its life ({@link ServerConnection#state()}: idle, under a
 * check...). All of them are written under the lock, where they change.
 */
public final class Pool {
    private static final Logger log = LoggerFactory.getLogger(Pool.class);
    /** Why a connection closes when its host's role or health no longer suits the pool. */
    static final String HOST_UNFIT = "host no longer fits target_session_attrs";
    /** Why a connection closes when the pool evens out over a host that joined its suitable hosts. */
    static final String REBALANCED = "evening the pool out over its hosts";

    private final PoolKey key;
    private final Pooler pooler;
    private volatile DatabaseEntry database;
    private volatile PoolerSettings settings;
    /** pool_size, reserve_pool_size, min_pool_size as this pool's user, database and settings say. */
    private volatile PoolSizes sizes;
    /** What the config gives this pool's user to log into the server with. */
    private volatile ServerCredentials credentials;
    /** What logins taught: SCRAM keys from a client's proof, or the secret auth_query fetched; null if nothing. */
    private volatile ServerCredentials learned;
    /** The hosts of {@link #database}, at its port. */
    private volatile List<Endpoint> endpoints;
    /** Picks the endpoint of each new connection. Guarded by the lock. */
    /** Replaced on a reload that changes load_balance_hosts or target_session_attrs; read under the lock. */
    private EndpointSelector selector;
    /** server_login_retry windows per endpoint and the cached error. Guarded by the lock. */
    private final EndpointHealth health = new EndpointHealth();
    private final ConnectionBudget dbBudget;
    private final ConnectionBudget userBudget;
    /** What SHOW STATS and the metrics add up; the data path only adds to it. */
    public final PoolStats stats;
    /** Owns this pool's tasks, so that freeing the pool ends them all: see {@link #closeScope}. */
    private final TaskScope scope;

    /** Package-private so that a test can hold it and show that no reader waits for it. */
    final ReentrantLock lock = new ReentrantLock();
    /**
     * Most recently used first: a warm connection is reused, the coldest idle ones time out. With
     * server_round_robin, released connections join at the end instead, so all take turns.
     */
    private final ArrayDeque<ServerConnection> idle = new ArrayDeque<>();
    private final WaitLine line = new WaitLine(lock);
    /** The slots of dedicated (replication) connections, counted against the pool's size like any. */
    private final DedicatedSlots dedicated = new DedicatedSlots(this, lock);
    /** Every logged-in server connection. Copy-on-write: written under the lock, read by views without it. */
    private final CopyOnWriteArrayList<ServerConnection> all = new CopyOnWriteArrayList<>();
    /** Connections being opened (sv_login). Written under the lock; volatile for views. */
    private volatile int opening;
    /**
     * Room claimed by callers now taking budget slots outside the lock: counted against the pool's
     * size so nobody else takes that room, but not yet opening (a refused claim is never shown).
     */
    private int claiming;
    /** server_check_query: which servers are due one, which are under one. */
    private final ServerCheck check;
    /**
     * Clients logged into this pool, and since when (nanoTime) it has had none: what
     * pool_idle_timeout and autodb_idle_timeout judge. Changed once per login and logout only,
     * inside the pooler's map operation on this pool's key, so a pool is never freed under a
     * client that is joining it.
     */
    private int clientsJoined;
    private long unusedSinceNanos = System.nanoTime();
    /** ParameterStatus values of the first server login: what a new client is told at login. */
    private volatile Map<String, String> welcomeParameters;

    public Pool(PoolKey key, Pooler pooler, DatabaseEntry database, PoolerSettings settings, ServerCredentials credentials,
            ConnectionBudget dbBudget, ConnectionBudget userBudget, EndpointSelector selector) {
        this.key = key;
        this.pooler = pooler;
        this.database = database;
        this.endpoints = Endpoint.of(database);
        this.selector = selector;
        this.settings = settings;
        this.credentials = credentials;
        this.sizes = PoolSizes.of(database, pooler.config().users().get(key.user()), settings);
        this.check = new ServerCheck(this, settings);
        this.dbBudget = dbBudget;
        this.userBudget = userBudget;
        this.stats = new PoolStats(pooler.metrics().forPool(key));
        this.scope = new TaskScope("pool " + key);
    }

    public PoolKey key() {
        return key;
    }

    public PoolerSettings settings() {
        return settings;
    }

    /**
     * How this pool's servers are opened now: server_connect_timeout, the TCP options, io_mode's
     * dialer and server TLS, from the current configuration (a RELOAD changes them for the next
     * connection).
     */
    public BackendConnector connector() {
        return new BackendConnector(new BackendOptions((int) settings.serverConnectTimeout().toMillis(), settings.tcp(),
                Carriers.dialer(), pooler.serverTls()));
    }

    public PoolerMetrics metrics() {
        return pooler.metrics();
    }

    /** The scope of this pool's tasks: its server connections' reader threads, releases waiting for cancels. */
    public TaskScope scope() {
        return scope;
    }

    /**
     * Ends this pool's tasks and waits for them: the pool was freed (pool_idle_timeout,
     * autodb_idle_timeout) or pgloom is closing. Servers still open are closed by their readers'
     * interruption; a connection opened after this is closed at once (see ServerConnection#startReader).
     */
    public void closeScope() {
        scope.close();
    }

    public DatabaseEntry database() {
        return database;
    }

    public PoolMode poolMode() {
        return pooler.poolMode(database, key.user());
    }

    public void reconfigure(DatabaseEntry database, PoolerSettings settings, ServerCredentials credentials) {
        this.database = database;
        this.endpoints = Endpoint.of(database);
        this.settings = settings;
        this.sizes = PoolSizes.of(database, pooler.config().users().get(key.user()), settings);
        check.reconfigure(settings);
        this.credentials = credentials;
    }

    /**
     * A client of this pool's user logged in and taught us how to log into the server as that user:
     * SCRAM keys recovered from its proof, or the secret auth_query fetched for it. The latest login
     * wins, so a changed password is followed at the next login. The config's password or md5 hash,
     * when there is one, still comes first.
     */
    public void learnCredentials(ServerCredentials c) {
        learned = c;
    }

    /** What a new server connection logs in with. */
    ServerCredentials loginCredentials() {
        ServerCredentials c = credentials;
        ServerCredentials l = learned;
        return c.password() != null || c.md5Hash() != null || l == null ? c : l;
    }

    /** server_lifetime of this pool's servers: the database entry's, else the global setting. */
    public Duration serverLifetime() {
        return database.serverLifetime().orElse(settings.serverLifetime());
    }

    int poolSize() {
        return sizes.poolSize();
    }

    int reserveSize() {
        return sizes.reserveSize();
    }

    int minPoolSize() {
        return sizes.minPoolSize();
    }

    public Map<String, String> welcomeParameters() {
        return welcomeParameters;
    }

    /**
     * Takes a server connection for {@code client}, opening one if the pool has room, else
     * waiting in line. Throws {@link PgloomError} on query_wait_timeout or a server login error.
     */
    public ServerConnection acquire(ClientSession client) throws PgloomError, InterruptedException {
        return acquire(client, false);
    }

    /**
     * As {@link #acquire}, but when the server cannot be reached and the pool has no connection,
     * throws PgBouncer's {@code server login has been failing} at once instead of waiting for
     * server_login_retry (PgBouncer's check_fast_fail): for a client in the middle of its login.
     */
    public ServerConnection acquireOrFail(ClientSession client) throws PgloomError, InterruptedException {
        return acquire(client, true);
    }

    private ServerConnection acquire(ClientSession client, boolean failFast) throws PgloomError, InterruptedException {
        long start = Carriers.nanoTime();
        long waitLimit = settings.queryWaitTimeout().toNanos();
        // As in PgBouncer, query_timeout also bounds the wait for a server when it is the shorter one.
        long queryLimit = client != null ? settings.queryTimeout().toNanos() : 0;
        boolean queryTimeoutFirst = queryLimit > 0 && (waitLimit <= 0 || queryLimit < waitLimit);
        long deadline = queryTimeoutFirst ? start + queryLimit : waitLimit > 0 ? start + waitLimit : Long.MAX_VALUE;
        long notifyLimit = settings.queryWaitNotify().toNanos();
        // query_wait_notify: once per acquire, on this (the client's) thread, outside the lock.
        long notifyAt = notifyLimit > 0 && client != null ? start + notifyLimit : Long.MAX_VALUE;
        WaitLine.Waiter me = null;
        // The budgets just refused a slot: wait for a wake-up (or the bounded wait) before asking again.
        boolean budgetsRefused = false;
        // Connects that failed at the network level: a client failing fast tries each endpoint once at most.
        int failedConnects = 0;
        // The first look at the pool uses the start's clock reading: one read less on the hot path.
        boolean first = true;
        while (true) {
            if (me != null && System.nanoTime() - notifyAt >= 0) {
                notifyAt = Long.MAX_VALUE;
                client.noticeQueued();
            }
            boolean claimed = false;
            ServerConnection reused = null;
            lock.lock();
            try {
                long now = first ? start : System.nanoTime();
                first = false;
                // PAUSE/KILL: nobody takes or opens a server until RESUME; the client waits in line.
                boolean paused = pooler.isPaused(key.database());
                if (me != null && me.failed != null) {
                    throw new PgloomError(me.failed); // a login just failed in a way that would fail ours too
                }
                // SHUTDOWN WAIT_FOR_SERVERS sends a waiting client away a moment after it begins, as
                // PgBouncer's janitor does at its next round (the shutdown wakes every waiter).
                long sendOffIn = me != null && me.granted == null ? pooler.waiterSendOffIn(now) : Long.MAX_VALUE;
                if (sendOffIn <= 0) {
                    line.leave(me);
                    line.wakeHead();
                    throw PgloomError.fatal(SqlState.ADMIN_SHUTDOWN, Pooler.SERVER_SHUTTING_DOWN);
                }
                if (me != null && me.granted != null) {
                    reused = me.granted;
                } else if (!paused && (me == null || line.isHead(me))) {
                    reused = pollUsableIdle(now);
                    if (reused != null) {
                        if (me != null) {
                            line.leave(me);
                            line.wakeHead();
                        }
                    } else if (!budgetsRefused && !firstConnectInFlight() && canConnect(now) && hasRoom(now - start)) {
                        claiming++;
                        claimed = true;
                        if (me != null) {
                            me.woken = false; // from here on a wake-up means a slot may have come free
                        }
                    }
                }
                if (reused != null) {
                    if (!check.due(reused, now)) {
                        return reused;
                    }
                    check.start(reused);
                } else if (!claimed) {
                    // No host suits target_session_attrs (no primary yet): wait for the topology, never fail fast.
                    List<Endpoint> fit = candidates(now);
                    boolean noHost = fit.isEmpty();
                    long triableFrom = noHost ? now : health.triableFrom(fit, now);
                    if (failFast && !noHost && triableFrom - now > 0 && all.isEmpty() && opening == 0) {
                        if (me != null) {
                            line.leave(me);
                            line.wakeHead();
                        }
                        throw loginFailing();
                    }
                    if (me == null) {
                        me = line.join(client);
                    }
                    if (now >= deadline) {
                        line.leave(me);
                        line.wakeHead();
                        throw PgloomError.fatal(SqlState.PROTOCOL_VIOLATION, queryTimeoutFirst ? "query_timeout" : "query_wait_timeout");
                    }
                    long wait = deadline - now;
                    long reserveAt = start + settings.reservePoolTimeout().toNanos();
                    if (reserveSize() > 0 && reserveAt > now) {
                        wait = Math.min(wait, reserveAt - now);
                    }
                    if (triableFrom - now > 0) {
                        wait = Math.min(wait, triableFrom - now);
                    }
                    if (notifyAt != Long.MAX_VALUE) {
                        wait = Math.max(1, Math.min(wait, notifyAt - now));
                    }
                    // Bounded so a missed signal (a budget freed in another pool) costs at most this.
                    wait = Math.min(Math.min(wait, sendOffIn), TimeUnit.MILLISECONDS.toNanos(500));
                    try {
                        me.wakeup.awaitNanos(wait);
                    } catch (InterruptedException e) {
                        abandon(me);
                        throw e;
                    }
                    budgetsRefused = false;
                    continue;
                }
            } finally {
                lock.unlock();
            }
            if (claimed) {
                boolean taken = takeBudgets(true);
                boolean grantedMeanwhile = false;
                lock.lock();
                try {
                    claiming--;
                    if (!taken) {
                        // Our claim may have kept the head from opening; a wake-up while we asked means: ask again.
                        if (me == null || !line.isHead(me)) {
                            line.wakeHead();
                        }
                        budgetsRefused = me == null || !me.woken;
                    } else if (me != null && me.granted != null) {
                        grantedMeanwhile = true;
                    } else {
                        opening++;
                        if (me != null) {
                            line.leave(me);
                        }
                    }
                } finally {
                    lock.unlock();
                }
                if (!taken) {
                    continue;
                }
                if (grantedMeanwhile) {
                    // A release handed us a server while we asked: the slots go back, the server is taken next round.
                    giveBackSlot();
                    continue;
                }
            }
            ServerConnection s = reused != null ? check.run(reused, client) : openConnection(client);
            if (s != null) {
                return s;
            }
            failedConnects++;
            if (failFast && all.isEmpty() && (failedConnects >= endpoints.size() || allHeldBack())) {
                throw loginFailing();
            }
            me = null; // connecting failed at the network level: try another endpoint, or wait in line and retry later
        }
    }

    /** Whether every endpoint is in its server_login_retry window now. */
    private boolean allHeldBack() {
        lock.lock();
        try {
            return health.allHeldBack(endpoints, System.nanoTime());
        } finally {
            lock.unlock();
        }
    }

    PgloomError loginFailing() {
        String cached = health.lastFailure();
        return PgloomError.fatal(SqlState.PROTOCOL_VIOLATION, "server login has been failing, cached error: "
                + (cached == null ? "connect failed" : cached) + " (server_login_retry)");
    }

    /**
     * A waiting client was interrupted (its session is being torn down): it leaves the line, and a
     * server already granted to it goes on to the next waiter or back to idle rather than being lost.
     * Called under the lock, held once; lets it go for that release, which may close the server and
     * so free budgets other pools wait on.
     */
    private void abandon(WaitLine.Waiter me) {
        ServerConnection granted = me.granted;
        if (granted == null) {
            boolean wasHead = line.isHead(me);
            line.leave(me);
            if (wasHead) {
                line.wakeHead();
            }
            return;
        }
        lock.unlock();
        try {
            release(granted);
        } finally {
            lock.lock();
        }
    }

    /**
     * A connection's slot is free again: back to the shared budgets, then a waiter of this pool or
     * of another pool sharing a budget may use it. Outside the lock (see the lock order in the
     * class comment); the giving back comes first, so a woken waiter finds the slot there.
     */
    void giveBackSlot() {
        dbBudget.giveBack();
        userBudget.giveBack();
        wakeHead();
        pooler.budgetFreed(this);
    }

    /** Takes a slot of both shared budgets, outside the lock; false, with nothing taken, if either is used up. */
    private boolean takeBudgets() {
        return takeBudgets(false);
    }

    /**
     * As {@link #takeBudgets()}; with {@code evict}, a refusal to a pool that has no server at all
     * also closes an idle server of another pool that holds a slot of the budget that refused
     * (max_db_connections: a pool of the same database; max_user_connections: of the same user),
     * as PgBouncer evicts one: its clients must not wait forever for a slot that an idle connection
     * elsewhere sits on. A pool with servers of its own is served as they come back instead. The
     * slot comes back when the closed connection is discarded, which wakes this pool's line.
     */
    boolean takeBudgets(boolean evict) {
        // Read without the lock (a copy-on-write list, a volatile count): a hint, not a promise.
        evict = evict && all.isEmpty() && opening == 0;
        if (!dbBudget.tryTake()) {
            if (evict) {
                pooler.evictIdleFor(this, true);
            }
            return false;
        }
        if (!userBudget.tryTake()) {
            dbBudget.giveBack();
            if (evict) {
                pooler.evictIdleFor(this, false);
            }
            return false;
        }
        return true;
    }

    /**
     * Closes this pool's least recently used idle server to free its budget slots for another
     * pool ("evicted", PgBouncer's word); false if it has none idle. Outside the caller's locks.
     */
    public boolean evictIdle() {
        ServerConnection s;
        lock.lock();
        try {
            s = takeLeastRecentlyUsedIdle();
        } finally {
            lock.unlock();
        }
        if (s == null) {
            return false;
        }
        s.close("evicted");
        return true;
    }

    /** Whether the pool has room for one more connection, counting the reserve pool after the client waited long enough. Under the lock. */
    boolean hasRoom(long waitedNanos) {
        int total = all.size() + opening + claiming + dedicated.held();
        int limit = poolSize();
        if (total < limit) {
            return true;
        }
        if (reserveSize() > 0 && waitedNanos >= settings.reservePoolTimeout().toNanos() && total < limit + reserveSize()) {
            // PgBouncer's line; its test_reserve_pool_size counts them. Once per reserve connection.
            log.info("{}: taking connection from reserve_pool", key);
            return true;
        }
        return false;
    }

    /** Takes the first usable connection from the idle list, closing the unusable ones it meets. Under the lock. */
    ServerConnection pollUsableIdle(long now) {
        ServerConnection s;
        while ((s = idle.pollFirst()) != null) {
            boolean suits = selector.suits(s.endpoint, now);
            if (s.leaveIdle() && !s.expired(now) && !s.closeNeeded() && suits) {
                return s;
            }
            s.close(s.isClosed() ? "closed" : s.closeNeeded() ? s.closeNeededReason()
                    : !suits ? HOST_UNFIT : "server_lifetime reached");
        }
        return null;
    }

    /** A server whose slot its checker holds is gone from the pool. Under the lock. */
    void forget(ServerConnection s) {
        all.remove(s);
    }

    /** A connection is being opened in a slot already held. Under the lock. */
    void countOpening() {
        opening++;
    }

    /** Opens a connection for the caller, outside the lock. Returns null after a network failure. */
    ServerConnection openConnection(ClientSession client) throws PgloomError {
        DatabaseEntry db = database;
        Endpoint to;
        lock.lock();
        try {
            long now = System.nanoTime();
            List<Endpoint> fit = candidates(now);
            to = fit.isEmpty() ? null : selector.next(fit, health, this::openTo, now);
        } finally {
            lock.unlock();
        }
        if (to == null) {
            failedOpen(null, null); // the host that suited a moment ago went: wait in line for the next
            return null;
        }
        Map<String, String> params = new HashMap<>();
        if (client != null) {
            params.putAll(client.startupParametersForServer());
        }
        if (db.clientEncoding() != null) {
            params.putIfAbsent("client_encoding", db.clientEncoding());
        }
        if (db.datestyle() != null) {
            params.putIfAbsent("DateStyle", db.datestyle());
        }
        if (db.timezone() != null) {
            params.putIfAbsent("TimeZone", db.timezone());
        }
        if (db.applicationName() != null) {
            params.putIfAbsent("application_name", db.applicationName());
        }
        String dbname = db.dbname() != null ? db.dbname() : db.name();
        ServerConnection s = null;
        long started = System.nanoTime();
        try {
            s = ServerConnection.open(this, to, dbname, params, loginCredentials());
            if (db.connectQuery() != null && !db.connectQuery().isBlank()) {
                runConnectQuery(s, db.connectQuery());
            }
        } catch (IOException e) {
            log.warn("{}: connect failed: cannot connect to server {}:{}: {}; retrying after server_login_retry", key, to.host(), to.port(), e.toString());
            logNeverOpened(to, e instanceof SocketTimeoutException ? "connect timeout"
                    : e instanceof UnknownHostException ? "server DNS lookup failed" : "connect failed", started); // PgBouncer's words
            failedOpen(to, "connect to " + to.host() + ":" + to.port() + " failed: " + e.getMessage());
            pooler.metrics().serverConnectFailed(key, false);
            return null;
        } catch (PgloomError e) {
            ErrorResponse refusal = e.response();
            logLoginRefused(to, refusal);
            logNeverOpened(to, refusal.message(), started);
            if (failsEveryLogin(refusal)) {
                lock.lock();
                try {
                    line.failAll(refusal);
                } finally {
                    lock.unlock();
                }
            }
            failedOpen(to, null);
            pooler.metrics().serverConnectFailed(key, true);
            throw e;
        }
        health.connected(to);
        lock.lock();
        try {
            opening--;
            all.add(s);
            if (welcomeParameters == null) {
                welcomeParameters = Map.copyOf(s.parameters);
            }
            if (all.size() == 1) {
                line.wakeHead(); // waiters held back by firstConnectInFlight may open theirs now
            }
        } finally {
            lock.unlock();
        }
        stats.serverOpened();
        if (settings.logConnections()) {
            // PgBouncer's words and order: ...db/user@host:port new connection to server (from addr:port)
            log.info("{} {}@{} new connection to server (from {})", s, key, s.endpoint, s.localEnd());
        }
        s.startReader();
        return s;
    }

    /**
     * The close line of a server connection that never finished its login, as every server
     * connection that goes has one (log_disconnections), in PgBouncer's words: {@code login failed},
     * {@code connect timeout}, {@code connect failed}.
     */
    void logNeverOpened(Endpoint to, String reason, long startedNanos) {
        if (settings.logDisconnections()) {
            log.info("{} (server {}:{}): closing because: {} (age={})", key, to.host(), to.port(), reason,
                    ClientSession.age(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos)));
        }
    }

    /**
     * Whether a server's login refusal would refuse every login of this pool alike, so that the
     * clients waiting for one are told at once rather than each trying (and the server logging a
     * failure per client): a wrong password or no such role (class 28), a missing database.
     */
    private static boolean failsEveryLogin(ErrorResponse refusal) {
        String state = refusal.sqlState();
        return state != null && (state.startsWith("28") || state.equals(SqlState.INVALID_CATALOG_NAME));
    }

    /** PgBouncer's words first ("server login failed: FATAL message"), for the scripts that grep them. */
    void logLoginRefused(Endpoint to, ErrorResponse refusal) {
        log.warn("{}: server login failed: {} {} (server {}:{}, SQLSTATE {})", key, refusal.severity(), refusal.message(),
                to.host(), to.port(), refusal.sqlState());
    }

    private static void runConnectQuery(ServerConnection s, String sql) throws IOException {
        try {
            s.internalQueries().connectQuery(sql);
        } catch (IOException e) {
            s.close("connect_query failed");
            throw e;
        }
    }

    /** Opening a connection to {@code to} failed: at the network level if {@code cause} is not null. */
    private void failedOpen(Endpoint to, String cause) {
        lock.lock();
        try {
            opening--;
            if (cause != null) {
                health.connectFailed(to, cause, System.nanoTime() + settings.serverLoginRetry().toNanos());
            }
        } finally {
            lock.unlock();
        }
        giveBackSlot();
    }

    /** Hands a server connection that finished its work to the longest waiter, or back to idle. */
    public void release(ServerConnection s) {
        if (s.cancelsInFlight.get() > 0) {
            // A cancel is on its way to this backend: reusing it now could cancel another client's query.
            // A forwarded cancel gives up after cancel_wait_timeout; 0 (no limit) waits at most 10 s here.
            long waitNanos = settings.cancelWaitTimeout().toNanos();
            long limit = waitNanos > 0 ? waitNanos : TimeUnit.SECONDS.toNanos(10);
            if (!scope.start("server-" + key + "-cancel-wait", () -> releaseAfterCancels(s, limit))) {
                s.close("pool is closing");
            }
            return;
        }
        long now = Carriers.nanoTime();
        if (s.isClosed()) {
            return;
        }
        if (s.expired(now) || s.transactionStatus() != 'I') {
            s.close(s.expired(now) ? "server_lifetime reached" : "released while not idle");
            return;
        }
        if (s.closeNeeded()) {
            s.close(s.closeNeededReason() + ", closed on release");
            return;
        }
        if (pooler.isPaused(key.database())) {
            // PAUSE disconnects each server as it is released (PgBouncer's pause mode).
            s.close("database paused");
            return;
        }
        if (s.responses.isOpen()) {
            // Cannot happen by construction (a client keeps its server until every answer is in);
            // a connection whose answers are out of step must never serve another client.
            log.warn("{} {}: released while answers were still owed to its client; closing it", key, s);
            s.close("released while answers were still owed");
            return;
        }
        s.releasedAt(now);
        lock.lock();
        try {
            WaitLine.Waiter w = line.pollHead();
            if (w != null) {
                w.granted = s;
                w.wakeup.signal();
            } else if (!s.enterIdle()) {
                return; // closed meanwhile: its reader thread hands it to discard
            } else if (settings.serverRoundRobin()) {
                idle.addLast(s); // server_round_robin: FIFO, so every server takes its turn
            } else {
                idle.addFirst(s);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Runs in the pool's scope: releases {@code s} once the cancels sent to it are done (or after {@code limitNanos}). */
    private void releaseAfterCancels(ServerConnection s, long limitNanos) {
        try {
            s.cancelsInFlight.awaitNone(limitNanos);
        } catch (InterruptedException e) {
            return; // the pool is closing, and its connections with it
        }
        release(s);
    }

    /** A connection closed: forget it and let a waiter open a replacement. */
    public void discard(ServerConnection s) {
        lock.lock();
        try {
            if (check.owns(s) || !all.remove(s)) {
                return; // a connection under check is settled by its checker
            }
            idle.remove(s);
        } finally {
            lock.unlock();
        }
        giveBackSlot();
    }

    public void wakeHead() {
        lock.lock();
        try {
            line.wakeHead();
            dedicated.signalRoom();
        } finally {
            lock.unlock();
        }
    }

    /** See {@link DedicatedSlots#claim}. */
    public Endpoint claimDedicated() throws PgloomError, InterruptedException {
        return dedicated.claim();
    }

    /** See {@link DedicatedSlots#open}; {@code ownerPtr} and {@code replication} are for SHOW SERVERS. */
    public DedicatedServer openDedicated(Endpoint to, Map<String, String> startupParameters, String ownerPtr,
            String replication) throws PgloomError, IOException {
        return dedicated.open(to, startupParameters, ownerPtr, replication);
    }

    /** Dedicated connection {@code s} closed, or (null) its login failed: its slot is free again. */
    public void dedicatedClosed(DedicatedServer s) {
        dedicated.closed(s);
    }

    // ---------------------------------------------------------------- for DedicatedSlots, under the lock

    /** Whether the pool's database is paused (PAUSE, KILL). */
    boolean isPaused() {
        return pooler.isPaused(key.database());
    }

    /** Whether every endpoint is in its server_login_retry window at {@code now}. Under the lock. */
    boolean allHeldBack(long now) {
        return health.allHeldBack(endpoints, now);
    }

    /** The least recently used idle connection, out of the idle list; null if none. Under the lock. */
    ServerConnection takeLeastRecentlyUsedIdle() {
        ServerConnection s = idle.pollLast();
        if (s != null) {
            s.leaveIdle();
        }
        return s;
    }

    /** Room taken by a caller now taking budget slots outside the lock (see the class comment). Under the lock. */
    void claimRoom() {
        claiming++;
    }

    /** The claim is over, turned into a connection or refused. Under the lock. */
    void unclaimRoom() {
        claiming--;
    }

    /** Our claim may have kept the head of the line from opening: wake it. Under the lock. */
    void wakeLineHead() {
        line.wakeHead();
    }

    /**
     * The endpoint a new dedicated connection goes to: one that suits the pool if there is one,
     * else any (replication connections ask for no role). Under the lock.
     */
    Endpoint nextEndpoint() {
        long now = System.nanoTime();
        List<Endpoint> fit = candidates(now);
        return selector.next(fit.isEmpty() ? endpoints : fit, health, this::openTo, now);
    }

    /** The endpoints a new connection may go to now, as the selector sees the topology. Under the lock. */
    private List<Endpoint> candidates(long now) {
        return selector.candidates(endpoints, now);
    }

    /** A reload changed how this pool's hosts are chosen. */
    public void selector(EndpointSelector next) {
        lock.lock();
        try {
            selector = next;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Whether the pool has no server yet and one is being opened: then the others wait for its
     * outcome rather than pile onto a host that may be dead or unresolvable, as PgBouncer opens one
     * connection at a time (load_balance_hosts = disable relies on it to move on after one failure).
     * Once a server is open, connections open in parallel. Under the lock.
     */
    private boolean firstConnectInFlight() {
        return all.isEmpty() && (opening > 0 || claiming > 0);
    }

    /**
     * Whether some endpoint suits the pool now (a read-write pool without a primary has none) and
     * is outside its server_login_retry window. Under the lock.
     */
    private boolean canConnect(long now) {
        List<Endpoint> fit = candidates(now);
        return !fit.isEmpty() && !health.allHeldBack(fit, now);
    }

    /**
     * The topology changed for {@code host}: connections to it that no longer suit this pool go
     * (idle ones now, busy ones when released); if it suits and the pool balances, the pool sheds
     * connections to other hosts so that it gets its share ({@link Evening}); waiting clients look
     * again.
     */
    public void hostChanged(Endpoint host) {
        if (!endpoints.contains(host)) {
            return;
        }
        long now = System.nanoTime();
        lock.lock();
        try {
            if (!selector.suits(host, now)) {
                for (ServerConnection s : List.copyOf(all)) {
                    if (s.endpoint.equals(host)) {
                        retire(s, HOST_UNFIT);
                    }
                }
            } else if (selector.balances()) {
                List<ServerConnection> staying = all.stream().filter(s -> !s.closeNeeded() && !s.isClosed()).toList();
                List<ServerConnection> shed = Evening.toShed(staying, s -> s.endpoint, idle::contains, candidates(now), host);
                if (!shed.isEmpty()) {
                    log.info("{}: host {} suits the pool again; closing {} of its {} connections to other hosts to even it out",
                            key, host, shed.size(), staying.size());
                    shed.forEach(s -> retire(s, REBALANCED));
                }
            }
            line.wakeAll();
        } finally {
            lock.unlock();
        }
    }

    /** Closes {@code s} now if idle, else when its user releases it. Under the lock. */
    private void retire(ServerConnection s, String reason) {
        s.markCloseNeeded(reason);
        if (idle.contains(s) && s.leaveIdle()) {
            idle.remove(s);
            s.close(reason);
        }
    }

    /** How many of this pool's connections go to {@code e} and stay (not marked to close). Under the lock. */
    private int openTo(Endpoint e) {
        int n = 0;
        for (ServerConnection s : all) {
            if (s.endpoint.equals(e) && !s.closeNeeded()) {
                n++;
            }
        }
        return n;
    }

    /** A connection to {@code to} logged in. Under the lock. */
    void connectedTo(Endpoint to) {
        health.connected(to);
    }

    /** Periodic care: idle timeout, lifetime, min_pool_size. Runs on the pooler's maintenance thread. */
    public void maintain(long now) {
        List<ServerConnection> toClose = new ArrayList<>();
        int missing;
        lock.lock();
        try {
            long idleLimit = settings.serverIdleTimeout().toNanos();
            int keep = minPoolSize();
            for (Iterator<ServerConnection> it = idle.descendingIterator(); it.hasNext(); ) {
                ServerConnection s = it.next();
                boolean tooIdle = idleLimit > 0 && now - s.idleSinceNanos() > idleLimit && all.size() - toClose.size() > keep;
                if (s.isClosed() || s.expired(now) || tooIdle) {
                    it.remove();
                    s.leaveIdle();
                    toClose.add(s);
                }
            }
            // A pool opens its min_pool_size once a client has logged in (its login gave the server
            // credentials); a database with a forced user= has them from the config, and fills at once.
            boolean mayOpen = welcomeParameters != null || database.user() != null;
            missing = !mayOpen ? 0 : keep - (all.size() - toClose.size()) - opening - claiming;
            if (missing > 0 && (health.allHeldBack(endpoints, now) || pooler.isPaused(key.database()))) {
                missing = 0;
            }
        } finally {
            lock.unlock();
        }
        for (ServerConnection s : toClose) {
            s.close(s.expired(now) ? "server_lifetime reached" : "server_idle_timeout reached");
        }
        for (int i = 0; i < missing; i++) {
            boolean claimed;
            lock.lock();
            try {
                claimed = hasRoom(0);
                if (claimed) {
                    claiming++;
                }
            } finally {
                lock.unlock();
            }
            if (!claimed) {
                break;
            }
            boolean taken = takeBudgets();
            lock.lock();
            try {
                claiming--;
                if (taken) {
                    opening++;
                } else {
                    line.wakeHead(); // our claim may have kept the head from opening
                }
            } finally {
                lock.unlock();
            }
            if (!taken) {
                break;
            }
            try {
                ServerConnection s = openConnection(null);
                if (s != null) {
                    release(s);
                }
            } catch (PgloomError e) {
                break;
            }
        }
    }

    public void closeAll(String reason) {
        List<ServerConnection> snapshot;
        lock.lock();
        try {
            snapshot = new ArrayList<>(all);
            clearIdle();
        } finally {
            lock.unlock();
        }
        snapshot.forEach(s -> s.close(reason));
        dedicated.closeAll(reason);
    }

    /** PAUSE: closes the idle servers now; the others are closed as they are released. */
    public void closeIdle(String reason) {
        List<ServerConnection> snapshot;
        lock.lock();
        try {
            snapshot = new ArrayList<>(idle);
            clearIdle();
        } finally {
            lock.unlock();
        }
        snapshot.forEach(s -> s.close(reason));
    }

    /** Empties the idle list. Under the lock. */
    private void clearIdle() {
        idle.forEach(ServerConnection::leaveIdle);
        idle.clear();
    }

    /**
     * RECONNECT (and a RELOAD that changed the connection string or server TLS): every server now
     * open is closed as soon as it is released, the idle ones at once, each logged with
     * {@code reason}; new ones may be opened meanwhile.
     */
    public void reconnect(String reason) {
        lock.lock();
        try {
            all.forEach(s -> s.markCloseNeeded(reason));
        } finally {
            lock.unlock();
        }
        closeIdle(reason);
        all.forEach(this::fastCloseIfDue);
    }

    /**
     * server_fast_close: in session mode a server marked by RECONNECT (or a RELOAD that changed
     * the connection string) is closed as soon as its client is between transactions, rather than
     * when the client leaves; the client, whose session is gone, is closed with it. Called at the
     * mark and at each ReadyForQuery of a marked server. Transaction and statement mode close
     * marked servers on release anyway.
     */
    public void fastCloseIfDue(ServerConnection s) {
        if (s.closeNeeded() && settings.serverFastClose() && poolMode() == PoolMode.SESSION) {
            var l = s.link();
            if (l != null && l.isQuietOn(s)) {
                s.close("database configuration changed"); // PgBouncer's words for a fast close, RECONNECT included
            }
        }
    }

    /** Server connections open or opening: PAUSE waits for none. */
    public int serverCount() {
        lock.lock();
        try {
            return all.size() + opening + claiming;
        } finally {
            lock.unlock();
        }
    }

    /** Whether a server marked by RECONNECT is still open: WAIT_CLOSE waits for none. */
    public boolean hasCloseNeeded() {
        lock.lock();
        try {
            return all.stream().anyMatch(ServerConnection::closeNeeded);
        } finally {
            lock.unlock();
        }
    }

    /** Wakes every waiter (RESUME): each re-checks, the head takes its turn first. */
    public void wakeAll() {
        lock.lock();
        try {
            line.wakeAll();
        } finally {
            lock.unlock();
        }
    }

    /** A client logged in. Called inside the pooler's map operation on this pool's key. */
    public void clientJoined() {
        clientsJoined++;
    }

    /** Used without a client joining (auth_query): its unused time starts again. Inside the pooler's map operation. */
    public void touched(long now) {
        if (clientsJoined == 0) {
            unusedSinceNanos = now;
        }
    }

    /** A client of this pool left. Called inside the pooler's map operation on this pool's key. */
    public void clientLeft(long now) {
        if (--clientsJoined == 0) {
            unusedSinceNanos = now;
        }
    }

    /**
     * Whether this pool may be freed: no client and no server connection for {@code limitNanos}.
     * Called inside the pooler's map operation on this pool's key.
     */
    public boolean unusedFor(long limitNanos, long now) {
        return clientsJoined == 0 && now - unusedSinceNanos >= limitNanos && serverCount() == 0;
    }

    /** Counts for logs; {@code checking} is PgBouncer's sv_tested. */
    record Counts(int active, int idle, int checking, int opening, int waiting) {
    }

    public Counts counts() {
        lock.lock();
        try {
            int checking = check.count();
            return new Counts(all.size() - idle.size() - checking, idle.size(), checking, opening, line.size());
        } finally {
            lock.unlock();
        }
    }

    /**
     * The pool's state for SHOW POOLS, SHOW SERVERS and the metrics, read without the pool's lock
     * (or any other lock the data path takes): the copy-on-write server list, volatile counts and
     * each connection's volatile fields. A scrape therefore never delays a client and is never
     * delayed by one. The price is that the figures are a sample, not a snapshot: taken one after
     * another while clients come and go, they may be a moment apart from each other (a server just
     * taken from idle and not yet linked is counted active; a waiter that just got a server may be
     * counted once more in cl_waiting), where PgBouncer, single-threaded, shows them all as of one
     * instant. Each figure is exact once the pool is quiet.
     *
     * <p>Servers are classified as PgBouncer lists them: linked to a client (active), idle and
     * usable at once (idle), idle past server_check_delay (used), under server_check_query or
     * server_reset_query (tested), and idle but kept out of the pool until a cancel sent to it is
     * done (being canceled).
     */
    public PoolView view(long now, long nowMillis) {
        int waitingNow = line.length();
        long maxWait = line.longestWaitNanos(now);
        List<ConnectionView> rows = new ArrayList<>();
        for (ServerConnection s : all) {
            ServerConnection.State state = s.state(); // one volatile read
            rows.add(s.view(state, shownAs(s, state, now).word, now, nowMillis));
        }
        dedicated.addViews(rows, now, nowMillis);
        return new PoolView(key.database(), key.user(), poolMode(), rows, waitingNow, 0, opening, maxWait, stats);
    }

    /** The server connections this pool has logged in, as of now (a copy-on-write snapshot; no lock). */
    public List<ServerConnection> servers() {
        return all;
    }

    /**
     * SHOW SERVERS' word for a connection in {@code state}, from volatile fields only; no lock. A
     * closed connection still listed (for the moment until its reader thread or checker drops it)
     * shows as active, with close_needed set.
     */
    private PoolView.ServerState shownAs(ServerConnection s, ServerConnection.State state, long now) {
        return switch (state) {
            case CHECKING, RESETTING -> PoolView.ServerState.TESTED;
            case IDLE -> check.due(s, now) ? PoolView.ServerState.USED : PoolView.ServerState.IDLE;
            case ACTIVE, CLOSED -> s.link() == null && s.cancelsInFlight.get() > 0
                    ? PoolView.ServerState.BEING_CANCELED : PoolView.ServerState.ACTIVE;
        };
    }
}
