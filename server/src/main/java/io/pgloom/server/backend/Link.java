package io.pgloom.server.backend;

import io.pgloom.config.PoolMode;
import io.pgloom.server.carrier.Carriers;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.server.frontend.ClientTimeouts;
import io.pgloom.server.pool.PoolStats;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.SqlState;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Which server one client holds, and what is in flight between them: the requests still owed a
 * ReadyForQuery, an unfinished extended-protocol batch, the last transaction status, and when the
 * current query and transaction began.
 *
 * <p>Threading: the client's thread links a server, counts requests and unlinks at disconnect;
 * the linked server's reader thread counts ReadyForQuery and unlinks on release or on the
 * server's loss; the janitor, the cancel path and the pool's query_timeout check only read. All
 * of it happens under {@link #lock}, which makes "release the server" atomic against "the client
 * counts a new request": a request counted first keeps the server linked; a release decided first
 * makes the client take a server anew. Views and query_timeout read {@link #queryStartNanos} and a
 * server's {@code link} field, both volatile, without the lock: SHOW and metrics never wait for the
 * data path.
 *
 * <p>Lock order: {@link #lock} is a leaf. No path takes it while holding the client's write lock,
 * a pool's lock or a server's internal-query lock, and nothing is locked while it is held: pool
 * hand-backs, server closes and client writes all happen after it is released. Held, it touches
 * only volatiles, atomics and the pool's statistics: LongAdders, and query/transaction histograms
 * whose Prometheus buffer takes a lock of its own for an instant while a scrape runs (a leaf
 * inside the library, which never calls back into pgloom). So it can never be part of a
 * deadlock, and it is uncontended almost always. (A client's tracked parameters are not link
 * state: their array's own monitor guards them, taken inside the client's write lock at login.)
 *
 * <p>Why one Link per client, for the client's whole life, rather than one per link: linking is
 * per transaction, and an object per transaction is garbage on the data path. A linked server
 * names its client's Link in one volatile field; unlinking clears it and resets the start times,
 * so the next server starts from the same blank state as the previous one did.
 */
public final class Link {
    /** What the server's reader thread does next, once {@link #ready} counted a ReadyForQuery. */
    public enum AfterReady {
        /** The server stays linked (or was no longer this link's): pass the frames on. */
        STAY,
        /** Unlinked: give the server back, then pass the frames on. */
        RELEASE,
        /** Unlinked inside a transaction in statement mode: the server must be closed, the client too. */
        STATEMENT_MODE_VIOLATION
    }

    /** What a client lost with its server: {@code requests} unanswered, and whether a transaction or batch was open. */
    public record Lost(int requests, boolean inTransaction) {
    }

    private final ClientSession client;
    private final ReentrantLock lock = new ReentrantLock();

    // Guarded by lock.
    private ServerConnection server;
    /** Requests sent to the server whose ReadyForQuery has not come back yet. */
    private int pending;
    /** Extended-protocol messages sent since the last Sync: the server holds an unnamed statement or portal for them. */
    private boolean inBatch;
    private char transactionStatus = 'I';
    /** When the current transaction began (0: none open). */
    private long xactStartNanos;
    /** When the oldest unanswered request was counted (0: none). Volatile: views and query_timeout read it without the lock. */
    private volatile long queryStartNanos;

    public Link(ClientSession client) {
        this.client = client;
    }

    public ClientSession client() {
        return client;
    }

    /** When the linked server's current query began, 0 when none runs; no lock. */
    public long queryStartNanos() {
        return queryStartNanos;
    }

    // ---------------------------------------------------------------- client thread

    /** Counts a request of {@code type} on the server this client holds and returns it; null when it holds none. */
    public ServerConnection countOnHeld(char type, boolean expectsReady) {
        lock.lock();
        try {
            if (server != null) {
                count(type, expectsReady, expectsReady ? Carriers.nanoTime() : 0);
            }
            return server;
        } finally {
            lock.unlock();
        }
    }

    /** Links {@code s}, just taken from the pool at {@code now} (nanoTime), and counts the request it was taken for. */
    public void attach(ServerConnection s, char type, boolean expectsReady, long now) {
        lock.lock();
        try {
            server = s;
            s.link = this;
            count(type, expectsReady, now);
            // Linked from now: idle judgement starts afresh, not from the read before the wait.
            client.touch(now);
        } finally {
            lock.unlock();
        }
    }

    /** {@code now}: nanoTime, read only when {@code expectsReady}. */
    private void count(char type, boolean expectsReady, long now) {
        if (expectsReady) {
            server.countRequestSent();
            // PgBouncer's query_count and xact_count: a request that ends with ReadyForQuery is a
            // query; the first one on a server outside a transaction starts a transaction.
            PoolStats stats = server.pool.stats;
            stats.queries.increment();
            if (pending == 0) {
                queryStartNanos = now;
            }
            if (xactStartNanos == 0) {
                xactStartNanos = now;
                stats.transactions.increment();
            }
            pending++;
            inBatch = false;
        } else if (type != 'H' && type != 'd' && type != 'c' && type != 'f') {
            // Extended-protocol messages before a Sync: the server holds an unnamed statement or
            // portal for this client, so it must stay linked until the Sync's ReadyForQuery.
            inBatch = true;
        }
    }

    /**
     * The client goes: unlinks its server and gives it back ({@code reset}: through
     * server_reset_query), or closes it when a transaction or request is open on it: closing the
     * backend rolls that back for sure.
     */
    public void clientGone(boolean reset) {
        ServerConnection s;
        boolean clean;
        lock.lock();
        try {
            s = server;
            clean = s != null && pending == 0 && !inBatch && s.transactionStatus() == 'I' && s.internalQueries().pending() == 0;
            if (s != null) {
                unlink(s);
            }
        } finally {
            lock.unlock();
        }
        if (s == null) {
            return;
        }
        if (!clean) {
            s.close("client disconnected while the server was not idle");
        } else {
            s.giveBack(reset);
        }
    }

    // ---------------------------------------------------------------- server's reader thread

    /**
     * {@code s} answered ReadyForQuery with {@code status}: counts it and, if {@code mode} allows,
     * unlinks it. The caller gives it back before passing the ReadyForQuery on, so that a client
     * answering at once finds it in the pool.
     */
    public AfterReady ready(ServerConnection s, char status, PoolMode mode) {
        lock.lock();
        try {
            if (server != s) {
                return AfterReady.STAY;
            }
            transactionStatus = status;
            if (pending > 0) {
                pending--;
            }
            long now = Carriers.nanoTime();
            client.touch(now);
            countTimes(s.pool.stats, status, now);
            queryStartNanos = pending > 0 ? now : 0;
            if (pending == 0 && !inBatch && mode != PoolMode.SESSION) {
                if (status == 'I') {
                    unlink(s);
                    return AfterReady.RELEASE;
                }
                if (mode == PoolMode.STATEMENT) {
                    unlink(s);
                    return AfterReady.STATEMENT_MODE_VIOLATION;
                }
            }
            return AfterReady.STAY;
        } finally {
            lock.unlock();
        }
    }

    /** PgBouncer's query_time and xact_time, at a ReadyForQuery. */
    private void countTimes(PoolStats stats, char status, long now) {
        if (queryStartNanos != 0) {
            stats.queryDone(now - queryStartNanos);
        }
        if (status == 'I' && xactStartNanos != 0) {
            stats.transactionDone(now - xactStartNanos);
            xactStartNanos = 0;
        }
    }

    /** {@code s} died: unlinks it and says what the client lost; null if this link did not hold it. */
    public Lost lose(ServerConnection s) {
        lock.lock();
        try {
            if (server != s) {
                return null;
            }
            unlink(s);
            Lost lost = new Lost(pending, transactionStatus != 'I' || inBatch);
            pending = 0;
            inBatch = false;
            transactionStatus = 'I';
            return lost;
        } finally {
            lock.unlock();
        }
    }

    /** The next server starts blank: the start times belonged to the link just ended. */
    private void unlink(ServerConnection s) {
        server = null;
        s.link = null;
        queryStartNanos = 0;
        xactStartNanos = 0;
    }

    // ---------------------------------------------------------------- other threads

    public boolean isLinked() {
        lock.lock();
        try {
            return server != null;
        } finally {
            lock.unlock();
        }
    }

    /** True while this link holds {@code s} between transactions: nothing pending, no batch, status idle. */
    public boolean isQuietOn(ServerConnection s) {
        lock.lock();
        try {
            return server == s && pending == 0 && !inBatch && transactionStatus == 'I';
        } finally {
            lock.unlock();
        }
    }

    /** True while this link holds {@code s}. */
    public boolean holds(ServerConnection s) {
        lock.lock();
        try {
            return server == s;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The server to send a cancel to, counted as a cancel in flight against it (the caller
     * uncounts it when done); null when no request runs: a stale cancel must not hit whoever holds
     * that server next.
     */
    public ServerConnection serverToCancel() {
        lock.lock();
        try {
            ServerConnection s = server;
            if (s == null || pending == 0) {
                return null;
            }
            s.cancelsInFlight.incrementAndGet();
            return s;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Janitor thread: the timeout the client has reached, or null: query_timeout (a request
     * unanswered too long), transaction_timeout (a transaction open too long), both only while
     * linked, as in PgBouncer; then idle_transaction_timeout (linked in an idle transaction) and
     * client_idle_timeout (unlinked). The client's last activity is read under the lock: a
     * ReadyForQuery that unlinks also stamps it, so an unlinked client is never judged by the read
     * before its transaction.
     */
    public ErrorResponse timeout(long now, ClientTimeouts t) {
        lock.lock();
        try {
            long idle = now - client.lastActivityNanos();
            if (server == null) {
                return t.clientIdleNanos() > 0 && idle >= t.clientIdleNanos()
                        ? ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "client_idle_timeout") : null;
            }
            long query = queryStartNanos;
            if (t.queryNanos() > 0 && query != 0 && now - query >= t.queryNanos()) {
                // Closing the client closes its busy server too, which ends the query.
                return ErrorResponse.fatal(SqlState.QUERY_CANCELED, "query timeout");
            }
            if (t.transactionNanos() > 0 && xactStartNanos != 0 && now - xactStartNanos >= t.transactionNanos()) {
                return ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "transaction timeout");
            }
            if (pending == 0 && transactionStatus != 'I' && t.idleTransactionNanos() > 0 && idle >= t.idleTransactionNanos()) {
                return ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "idle transaction timeout");
            }
            return null;
        } finally {
            lock.unlock();
        }
    }
}
