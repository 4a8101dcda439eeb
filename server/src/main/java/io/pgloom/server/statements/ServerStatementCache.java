package io.pgloom.server.statements;

import io.pgloom.server.statements.StatementRegistry.Statement;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The {@code PGLOOM_<n>} statements one server connection has prepared, least recently used first,
 * bounded by max_prepared_statements.
 *
 * <p>Threading: the linked client's thread looks statements up and adds them as it sends their
 * Parse; the server's reader thread takes back an add whose Parse failed or was skipped, and puts
 * back a statement whose eviction Close was skipped. One uncontended lock guards the map.
 *
 * <p>An entry is added when its Parse is sent, before the server confirms it: a Bind later in the
 * same pipeline may rely on it, and if the Parse fails the Bind is skipped by the server anyway.
 */
public final class ServerStatementCache {
    private final ReentrantLock lock = new ReentrantLock();
    /** Access order: iteration starts at the least recently used. Values are the add that put them there. */
    private final LinkedHashMap<Statement, Object> statements = new LinkedHashMap<>(16, 0.75f, true);
    /** statements.size() as of the last change, for SHOW SERVERS to read without the lock. */
    private volatile int size;

    /** True if the server has (or is being sent) this statement; counts as a use. */
    boolean has(Statement s) {
        lock.lock();
        try {
            return statements.get(s) != null;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Records that a Parse of {@code s} is being sent. Statements that must make room (least
     * recently used first) are removed and returned in {@code evicted}: the caller sends their Close.
     * Returns a token that identifies this add for {@link #undoAdd}.
     */
    Object add(Statement s, int capacity, List<Statement> evicted) {
        Object token = new Object();
        lock.lock();
        try {
            Iterator<Statement> lru = statements.keySet().iterator();
            while (statements.size() >= Math.max(1, capacity) && lru.hasNext()) {
                evicted.add(lru.next());
                lru.remove();
            }
            statements.put(s, token);
            size = statements.size();
        } finally {
            lock.unlock();
        }
        return token;
    }

    /** The Parse recorded by {@code token} failed or was skipped: the server does not have it. */
    void undoAdd(Statement s, Object token) {
        lock.lock();
        try {
            statements.remove(s, token);
            size = statements.size();
        } finally {
            lock.unlock();
        }
    }

    /** An eviction Close was skipped (the server was skipping to Sync): the server still has it. */
    void restore(Statement s) {
        lock.lock();
        try {
            statements.putIfAbsent(s, new Object());
            size = statements.size();
        } finally {
            lock.unlock();
        }
    }

    /** How many statements the server holds for pgloom (SHOW SERVERS' prepared_statements). */
    public int size() {
        return size;
    }

    /** The server may have dropped its statements (DISCARD ALL, DEALLOCATE): forget them all. */
    public void clear() {
        lock.lock();
        try {
            statements.clear();
            size = 0;
        } finally {
            lock.unlock();
        }
    }
}
