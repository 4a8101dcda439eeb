package io.pgloom.server.pool;

import io.pgloom.server.backend.ServerConnection;
import io.pgloom.server.control.Pooler;
import io.pgloom.server.control.PoolerMetrics;
import io.pgloom.server.control.PoolerSettings;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.wire.backend.ServerCredentials;
import io.pgloom.wire.protocol.PgloomError;

import io.pgloom.config.DatabaseEntry;
import io.pgloom.config.PoolMode;
import io.pgloom.server.TaskScope;
import io.pgloom.wire.protocol.SqlState;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
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
 * <p>Waiting is first come, first served: a released connection is handed directly to the
 * longest-waiting client, so a newcomer can never overtake a client that already waits.
 *
 * <p>A connection that idled longer than server_check_delay is checked (server_check_query) by
 * the client that takes it, outside the lock. While checked it is neither idle nor handed out but
 * still counted in {@link #all} and the budgets; if it fails, its slot passes to its replacement.
 *
 * <p>Readers (SHOW POOLS, SHOW SERVERS, SHOW CLIENTS, /metrics, /ready) never take the lock: see
 * {@link #view}. What they need is kept where they can read it without it: {@link #all} is a
 * copy-on-write list (written only when a server is added or removed, which is rare), the counts
 * of waiters and connections being opened and the longest waiter are volatile fields, and each
 * connection says itself whether it is idle ({@link ServerConnection#inIdle}) and whether it is
 * under a check. All of them are written under the lock, where they change.
 */
public final class Pool {
    private static final Logger log = LoggerFactory.getLogger(Pool.class);

    private final PoolKey key;
    private final Pooler pooler;
    private volatile DatabaseEntry database;
    private volatile PoolerSettings settings;
    /** What the config gives this pool's user to log into the server with. */
    private volatile ServerCredentials credentials;
    /** What logins taught: SCRAM keys from a client's proof, or the secret auth_query fetched; null if nothing. */
    private volatile ServerCredentials learned;
    /** Why the last connect failed at the network level (PgBouncer's cached error); null once one succeeds. */
    private volatile String lastConnectFailure;
    private final ConnectionBudget dbBudget;
    private final ConnectionBudget userBudget;
    /** What SHOW STATS and the metrics add up; the data path only adds to it. */
    public final PoolStats stats;

    /** Package-private so that a test can hold it and show that no reader waits for it. */
    final ReentrantLock lock = new ReentrantLock();
    /**
     * Most recently used first: a warm connection is reused, the coldest idle ones time out. With
     * server_round_robin, released connections join at the end instead, so all take turns.
     */
    private final ArrayDeque<ServerConnection> idle = new ArrayDeque<>();
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    /** Every logged-in server connection. Copy-on-write: written under the lock, read by views without it. */
    private final CopyOnWriteArrayList<ServerConnection> all = new CopyOnWriteArrayList<>();
    /** Connections being opened (sv_login). Written under the lock; volatile for views. */
    private volatile int opening;
    /** waiters.size() and waiters.peekFirst(), kept for views whenever waiters changes. Written under the lock. */
    private volatile int waiting;
    private volatile Waiter oldestWaiter;
    /** Connections out of the pool for server_check_query; still in {@link #all}. */
    private int checking;
    /** {@link PoolerSettings#checkAfterNanos}, kept here so the reuse path pays one comparison. */
    private volatile long checkAfterNanos;
    private long loginRetryUntilNanos;
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
    private int nextHost;

    public Pool(PoolKey key, Pooler pooler, DatabaseEntry database, PoolerSettings settings, ServerCredentials credentials,
            ConnectionBudget dbBudget, ConnectionBudget userBudget) {
        this.key = key;
        this.pooler = pooler;
        this.database = database;
        this.settings = settings;
        this.credentials = credentials;
        this.checkAfterNanos = settings.checkAfterNanos();
        this.dbBudget = dbBudget;
        this.userBudget = userBudget;
        this.stats = new PoolStats(pooler.metrics().forPool(key));
    }

    public PoolKey key() {
        return key;
    }

    public PoolerSettings settings() {
        return settings;
    }

    public PoolerMetrics metrics() {
        return pooler.metrics();
    }

    public TaskScope scope() {
        return pooler.serverScope();
    }

    public DatabaseEntry database() {
        return database;
    }

    public PoolMode poolMode() {
        return pooler.poolMode(database, key.user());
    }

    public void reconfigure(DatabaseEntry database, PoolerSettings settings, ServerCredentials credentials) {
        this.database = database;
        this.settings = settings;
        this.checkAfterNanos = settings.checkAfterNanos();
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
    private ServerCredentials loginCredentials() {
        ServerCredentials c = credentials;
        ServerCredentials l = learned;
        return c.password() != null || c.md5Hash() != null || l == null ? c : l;
    }

    int poolSize() {
        return database.poolSize().orElse(settings.defaultPoolSize());
    }

    int reserveSize() {
        return database.reservePool().orElse(settings.reservePoolSize());
    }

    int minPoolSize() {
        return database.minPoolSize().orElse(settings.minPoolSize());
    }

    public Map<String, String> welcomeParameters() {
        return welcomeParameters;
    }

    private static final class Waiter {
        final Condition wakeup;
        final long since = System.nanoTime();
        /** Who waits, for SHOW CLIENTS; null for none. */
        final ClientSession client;
        ServerConnection granted;
        boolean mayOpen;

        Waiter(Condition wakeup, ClientSession client) {
            this.wakeup = wakeup;
            this.client = client;
        }
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
        long start = System.nanoTime();
        long waitLimit = settings.queryWaitTimeout().toNanos();
        long deadline = waitLimit > 0 ? start + waitLimit : Long.MAX_VALUE;
        long notifyLimit = settings.queryWaitNotify().toNanos();
        // query_wait_notify: once per acquire, on this (the client's) thread, outside the lock.
        long notifyAt = notifyLimit > 0 && client != null ? start + notifyLimit : Long.MAX_VALUE;
        Waiter me = null;
        while (true) {
            if (me != null && System.nanoTime() - notifyAt >= 0) {
                notifyAt = Long.MAX_VALUE;
                client.noticeQueued();
            }
            boolean open = false;
            ServerConnection reused = null;
            lock.lock();
            try {
                long now = System.nanoTime();
                // PAUSE/KILL: nobody takes or opens a server until RESUME; the client waits in line.
                boolean paused = pooler.isPaused(key.database());
                if (me != null && me.granted != null) {
                    reused = me.granted;
                } else if (!paused && (me == null || waiters.peekFirst() == me)) {
                    reused = pollUsableIdle(now);
                    if (reused != null) {
                        if (me != null) {
                            dequeue(me);
                            wakeHeadIfIdleOrRoom();
                        }
                    } else if (now >= loginRetryUntilNanos && mayOpen(now - start)) {
                        opening++;
                        open = true;
                        if (me != null) {
                            dequeue(me);
                        }
                    }
                }
                if (reused != null) {
                    if (now - reused.idleSinceNanos < checkAfterNanos) {
                        return reused;
                    }
                    startCheck(reused);
                } else if (!open) {
                    if (failFast && loginRetryUntilNanos > now && all.isEmpty() && opening == 0) {
                        if (me != null) {
                            dequeue(me);
                            wakeHeadIfIdleOrRoom();
                        }
                        throw loginFailing();
                    }
                    if (me == null) {
                        me = new Waiter(lock.newCondition(), client);
                        enqueue(me);
                    }
                    if (now >= deadline) {
                        dequeue(me);
                        wakeHeadIfIdleOrRoom();
                        throw PgloomError.fatal(SqlState.PROTOCOL_VIOLATION, "query_wait_timeout");
                    }
                    long wait = deadline - now;
                    long reserveAt = start + settings.reservePoolTimeout().toNanos();
                    if (reserveSize() > 0 && reserveAt > now) {
                        wait = Math.min(wait, reserveAt - now);
                    }
                    if (loginRetryUntilNanos > now) {
                        wait = Math.min(wait, loginRetryUntilNanos - now);
                    }
                    if (notifyAt != Long.MAX_VALUE) {
                        wait = Math.max(1, Math.min(wait, notifyAt - now));
                    }
                    // Bounded so a missed signal (a budget freed in another pool) costs at most this.
                    wait = Math.min(wait, TimeUnit.MILLISECONDS.toNanos(500));
                    try {
                        me.wakeup.awaitNanos(wait);
                    } catch (InterruptedException e) {
                        abandon(me);
                        throw e;
                    }
                    continue;
                }
            } finally {
                lock.unlock();
            }
            ServerConnection s = reused != null ? checked(reused, client) : openConnection(client);
            if (s != null) {
                return s;
            }
            if (failFast && all.isEmpty()) {
                throw loginFailing();
            }
            me = null; // connecting failed at the network level: wait in line again and retry later
        }
    }

    private PgloomError loginFailing() {
        String cached = lastConnectFailure;
        return PgloomError.fatal(SqlState.PROTOCOL_VIOLATION, "server login has been failing, cached error: "
                + (cached == null ? "connect failed" : cached) + " (server_login_retry)");
    }

    /** {@code w} joins the line. Under the lock. */
    private void enqueue(Waiter w) {
        waiters.addLast(w);
        if (w.client != null) {
            w.client.waitingSinceNanos = w.since;
        }
        waitersChanged();
    }

    /** {@code w} leaves the line (it got a server, may open one, or gave up). Under the lock. */
    private void dequeue(Waiter w) {
        waiters.remove(w);
        left(w);
        waitersChanged();
    }

    /** The longest waiter leaves the line, or null if nobody waits. Under the lock. */
    private Waiter pollWaiter() {
        Waiter w = waiters.pollFirst();
        if (w != null) {
            left(w);
            waitersChanged();
        }
        return w;
    }

    private static void left(Waiter w) {
        if (w.client != null) {
            w.client.waitingSinceNanos = 0;
        }
    }

    /** Publishes the line's length and head for views. Under the lock. */
    private void waitersChanged() {
        waiting = waiters.size();
        oldestWaiter = waiters.peekFirst();
    }

    /**
     * A waiting client was interrupted (its session is being torn down): it leaves the line, and a
     * server already granted to it goes on to the next waiter or back to idle rather than being lost.
     * Called under the lock, held once; lets it go for that release, which may close the server and
     * so free budgets other pools wait on.
     */
    private void abandon(Waiter me) {
        ServerConnection granted = me.granted;
        if (granted == null) {
            boolean wasHead = waiters.peekFirst() == me;
            dequeue(me);
            if (wasHead) {
                wakeHeadIfIdleOrRoom();
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

    /** Takes an idle connection out of the pool for a check. Under the lock. */
    private void startCheck(ServerConnection s) {
        s.beingChecked = true;
        checking++;
    }

    /**
     * Runs server_check_query on {@code s}, which this client took from the pool, outside the
     * lock. A server that fails is closed and its slot (pool size, max_db_connections,
     * max_user_connections) passes straight to its replacement, so the client keeps its turn:
     * the next idle server (itself checked if due) or else a new connection, which needs no check.
     * The client never sees the failure. Returns null when opening the replacement failed at the
     * network level; the caller then waits in line, as after any failed open.
     */
    private ServerConnection checked(ServerConnection s, ClientSession client) throws PgloomError, InterruptedException {
        while (true) {
            PoolerSettings current = settings;
            String failure;
            try {
                failure = s.check(current.checkQuerySql(), current.checkTimeoutNanos());
            } catch (InterruptedException e) {
                s.close("server_check_query interrupted");
                lock.lock();
                try {
                    endCheck(s);
                    all.remove(s);
                    giveBackSlot();
                } finally {
                    lock.unlock();
                }
                pooler.budgetFreed(this);
                throw e;
            }
            ServerConnection next;
            boolean checkNext = false;
            lock.lock();
            try {
                endCheck(s);
                if (failure == null && !s.closed) {
                    return s;
                }
                all.remove(s); // its slot is ours now: it goes to the replacement or back to the budgets
                long now = System.nanoTime();
                next = pollUsableIdle(now);
                if (next == null) {
                    opening++; // the failed server's slot, taken over by the new connection
                } else {
                    giveBackSlot();
                    if (now - next.idleSinceNanos >= checkAfterNanos) {
                        startCheck(next);
                        checkNext = true;
                    }
                }
            } finally {
                lock.unlock();
            }
            String reason = "server_check_query failed: " + (failure != null ? failure : "the connection closed");
            s.close(reason);
            if (next == null) {
                return openConnection(client);
            }
            pooler.budgetFreed(this);
            if (!checkNext) {
                return next;
            }
            s = next;
        }
    }

    /** The check of {@code s} is over. Under the lock. */
    private void endCheck(ServerConnection s) {
        s.beingChecked = false;
        checking--;
    }

    /** A connection's slot is free again: give it back to the shared budgets, let a waiter use it. Under the lock. */
    private void giveBackSlot() {
        dbBudget.giveBack();
        userBudget.giveBack();
        wakeHeadIfIdleOrRoom();
    }

    /** Whether one more connection may be opened, counting the reserve pool after the client waited long enough. */
    private boolean mayOpen(long waitedNanos) {
        int total = all.size() + opening;
        int limit = poolSize();
        if (reserveSize() > 0 && waitedNanos >= settings.reservePoolTimeout().toNanos()) {
            limit += reserveSize();
        }
        if (total >= limit) {
            return false;
        }
        if (!dbBudget.tryTake()) {
            return false;
        }
        if (!userBudget.tryTake()) {
            dbBudget.giveBack();
            return false;
        }
        return true;
    }

    private ServerConnection pollUsableIdle(long now) {
        ServerConnection s;
        while ((s = idle.pollFirst()) != null) {
            s.inIdle = false;
            if (!s.closed && !s.expired(now) && !s.closeNeeded) {
                return s;
            }
            s.close(s.closed ? "closed" : s.closeNeeded ? "RECONNECT" : "server_lifetime reached");
        }
        return null;
    }

    /** Opens a connection for the caller, outside the lock. Returns null after a network failure. */
    private ServerConnection openConnection(ClientSession client) throws PgloomError {
        DatabaseEntry db = database;
        List<String> hosts = db.hosts().isEmpty() ? List.of("127.0.0.1") : db.hosts();
        String host;
        lock.lock();
        try {
            host = hosts.get(Math.floorMod(nextHost++, hosts.size()));
        } finally {
            lock.unlock();
        }
        Map<String, String> params = new HashMap<>();
        if (client != null) {
            params.putAll(client.trackedParameters());
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
        String dbname = db.dbname() != null ? db.dbname() : db.name();
        ServerConnection s = null;
        try {
            s = ServerConnection.open(this, host, db.port(), dbname, params, loginCredentials(),
                    (int) settings.serverConnectTimeout().toMillis());
            if (db.connectQuery() != null && !db.connectQuery().isBlank()) {
                runConnectQuery(s, db.connectQuery());
            }
        } catch (IOException e) {
            log.warn("{}: cannot connect to server {}:{}: {}; retrying after server_login_retry", key, host, db.port(), e.toString());
            lastConnectFailure = "connect to " + host + ":" + db.port() + " failed: " + e.getMessage();
            failedOpen(true);
            pooler.metrics().serverConnectFailed(key, false);
            return null;
        } catch (PgloomError e) {
            log.warn("{}: server {}:{} refused login: {}", key, host, db.port(), e.response());
            failedOpen(false);
            pooler.metrics().serverConnectFailed(key, true);
            throw e;
        }
        lastConnectFailure = null;
        lock.lock();
        try {
            opening--;
            all.add(s);
            if (welcomeParameters == null) {
                welcomeParameters = Map.copyOf(s.parameters);
            }
        } finally {
            lock.unlock();
        }
        stats.serverOpened();
        if (settings.logConnections()) {
            log.info("{} {}: new server connection", s, key);
        }
        s.startReader();
        return s;
    }

    private static void runConnectQuery(ServerConnection s, String sql) throws IOException {
        try {
            s.runBeforeReader(sql);
        } catch (IOException e) {
            s.close("connect_query failed");
            throw e;
        }
    }

    private void failedOpen(boolean network) {
        lock.lock();
        try {
            opening--;
            if (network) {
                loginRetryUntilNanos = System.nanoTime() + settings.serverLoginRetry().toNanos();
            }
            giveBackSlot();
        } finally {
            lock.unlock();
        }
    }

    /** Hands a server connection that finished its work to the longest waiter, or back to idle. */
    public void release(ServerConnection s) {
        if (s.cancelsInFlight.get() > 0) {
            // A cancel is on its way to this backend: reusing it now could cancel another client's query.
            // A forwarded cancel gives up after cancel_wait_timeout; 0 (no limit) waits at most 10 s here.
            long waitNanos = settings.cancelWaitTimeout().toNanos();
            long limit = waitNanos > 0 ? waitNanos : TimeUnit.SECONDS.toNanos(10);
            Thread.ofVirtual().start(() -> {
                long until = System.nanoTime() + limit;
                while (s.cancelsInFlight.get() > 0 && System.nanoTime() - until < 0) {
                    Thread.onSpinWait();
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                release(s);
            });
            return;
        }
        long now = System.nanoTime();
        if (s.closed) {
            return;
        }
        if (s.expired(now) || s.transactionStatus != 'I') {
            s.close(s.expired(now) ? "server_lifetime reached" : "released while not idle");
            return;
        }
        if (s.closeNeeded) {
            s.close("RECONNECT or RELOAD asked for it, closed on release");
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
        s.idleSinceNanos = now;
        lock.lock();
        try {
            Waiter w = pollWaiter();
            if (w != null) {
                w.granted = s;
                w.wakeup.signal();
            } else if (settings.serverRoundRobin()) {
                idle.addLast(s); // server_round_robin: FIFO, so every server takes its turn
                s.inIdle = true;
            } else {
                idle.addFirst(s);
                s.inIdle = true;
            }
        } finally {
            lock.unlock();
        }
    }

    /** A connection closed: forget it and let a waiter open a replacement. */
    public void discard(ServerConnection s) {
        lock.lock();
        try {
            if (s.beingChecked || !all.remove(s)) {
                return; // a connection under check is settled by its checker
            }
            if (idle.remove(s)) {
                s.inIdle = false;
            }
            giveBackSlot();
        } finally {
            lock.unlock();
        }
        pooler.budgetFreed(this);
    }

    /** Wakes the head waiter so it re-checks idle connections and room. */
    void wakeHeadIfIdleOrRoom() {
        Waiter head = waiters.peekFirst();
        if (head != null) {
            head.mayOpen = true;
            head.wakeup.signal();
        }
    }

    public void wakeHead() {
        lock.lock();
        try {
            wakeHeadIfIdleOrRoom();
        } finally {
            lock.unlock();
        }
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
                boolean tooIdle = idleLimit > 0 && now - s.idleSinceNanos > idleLimit && all.size() - toClose.size() > keep;
                if (s.closed || s.expired(now) || tooIdle) {
                    it.remove();
                    s.inIdle = false;
                    toClose.add(s);
                }
            }
            missing = welcomeParameters == null ? 0 : keep - (all.size() - toClose.size()) - opening;
            if (missing > 0 && (now < loginRetryUntilNanos || pooler.isPaused(key.database()))) {
                missing = 0;
            }
        } finally {
            lock.unlock();
        }
        for (ServerConnection s : toClose) {
            s.close(s.expired(now) ? "server_lifetime reached" : "server_idle_timeout reached");
        }
        for (int i = 0; i < missing; i++) {
            boolean open;
            lock.lock();
            try {
                open = mayOpen(0);
                if (open) {
                    opening++;
                }
            } finally {
                lock.unlock();
            }
            if (!open) {
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

    /** Query timeouts: linked servers whose current request has run too long are closed. */
    public void checkQueryTimeouts(long now) {
        long limit = settings.queryTimeout().toNanos();
        if (limit <= 0) {
            return;
        }
        for (ServerConnection s : all) { // a snapshot: copy-on-write
            var l = s.link(); // the linked client's Link, or null
            long started = l == null ? 0 : l.queryStartNanos();
            if (started != 0 && now - started > limit) {
                l.client().queryTimedOut(s);
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
        idle.forEach(s -> s.inIdle = false);
        idle.clear();
    }

    /**
     * RECONNECT (and RELOAD of a changed connection string): every server now open is closed as
     * soon as it is released, the idle ones at once; new ones may be opened meanwhile.
     */
    public void reconnect() {
        lock.lock();
        try {
            all.forEach(s -> s.closeNeeded = true);
        } finally {
            lock.unlock();
        }
        closeIdle("RECONNECT");
    }

    /** Server connections open or opening: PAUSE waits for none. */
    public int serverCount() {
        lock.lock();
        try {
            return all.size() + opening;
        } finally {
            lock.unlock();
        }
    }

    /** Whether a server marked by RECONNECT is still open: WAIT_CLOSE waits for none. */
    public boolean hasCloseNeeded() {
        lock.lock();
        try {
            return all.stream().anyMatch(s -> s.closeNeeded);
        } finally {
            lock.unlock();
        }
    }

    /** Wakes every waiter (RESUME): each re-checks, the head takes its turn first. */
    public void wakeAll() {
        lock.lock();
        try {
            waiters.forEach(w -> w.wakeup.signal());
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
            return new Counts(all.size() - idle.size() - checking, idle.size(), checking, opening, waiters.size());
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
        int waitingNow = waiting;
        Waiter head = oldestWaiter;
        long maxWait = waitingNow > 0 && head != null ? Math.max(0, now - head.since) : 0;
        List<ConnectionView> rows = new ArrayList<>();
        for (ServerConnection s : all) {
            rows.add(s.view(stateOf(s, now).word, now, nowMillis));
        }
        return new PoolView(key.database(), key.user(), poolMode(), rows, waitingNow, 0, opening, maxWait, stats);
    }

    /** The server connections this pool has logged in, as of now (a copy-on-write snapshot; no lock). */
    public List<ServerConnection> servers() {
        return all;
    }

    /** Reads the connection's volatile fields only; no lock. */
    private PoolView.ServerState stateOf(ServerConnection s, long now) {
        if (s.beingChecked || s.releaseAfterInternal) {
            return PoolView.ServerState.TESTED;
        }
        if (s.inIdle) {
            return now - s.idleSinceNanos < checkAfterNanos ? PoolView.ServerState.IDLE : PoolView.ServerState.USED;
        }
        if (s.link() == null && s.cancelsInFlight.get() > 0) {
            return PoolView.ServerState.BEING_CANCELED;
        }
        return PoolView.ServerState.ACTIVE;
    }
}
