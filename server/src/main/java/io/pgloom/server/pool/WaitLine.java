package io.pgloom.server.pool;

import io.pgloom.server.backend.ServerConnection;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.wire.protocol.ErrorResponse;
import java.util.ArrayDeque;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The callers waiting for a server connection of one pool, first come first served.
 *
 * <p>Threading: guarded by the pool's lock, which every method takes for granted except
 * {@link #length} and {@link #longestWaitNanos}: those read volatile copies of the line's length
 * and head, written under the lock whenever the line changes, so that views (SHOW POOLS, /metrics)
 * never wait for the lock.
 */
final class WaitLine {
    /** One caller in line. Its fields are guarded by the pool's lock. */
    static final class Waiter {
        final Condition wakeup;
        final long since = System.nanoTime();
        /** Who waits, for SHOW CLIENTS; null for none. */
        final ClientSession client;
        /** A server a release handed straight to this waiter; it has left the line then. */
        ServerConnection granted;
        /** The server's login refusal that sent every waiter away ({@link #failAll}); it has left the line then. */
        ErrorResponse failed;
        /**
         * Woken since it last looked: an idle server or room may be there. A waiter takes budget
         * slots outside the lock, so a wake-up may come while it is not awaiting; this keeps that
         * wake-up from being lost.
         */
        boolean woken;

        private Waiter(Condition wakeup, ClientSession client) {
            this.wakeup = wakeup;
            this.client = client;
        }
    }

    private final ReentrantLock lock;
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    /** waiters.size() and waiters.peekFirst(), for views. */
    private volatile int length;
    private volatile Waiter head;

    WaitLine(ReentrantLock lock) {
        this.lock = lock;
    }

    /** A new waiter for {@code client} (null: none) joins the end of the line. */
    Waiter join(ClientSession client) {
        Waiter w = new Waiter(lock.newCondition(), client);
        waiters.addLast(w);
        if (client != null) {
            client.waitingSince(w.since);
        }
        changed();
        return w;
    }

    /** {@code w} leaves the line (it got a server, may open one, or gave up). */
    void leave(Waiter w) {
        waiters.remove(w);
        left(w);
        changed();
    }

    /** The longest waiter leaves the line, or null if nobody waits. */
    Waiter pollHead() {
        Waiter w = waiters.pollFirst();
        if (w != null) {
            left(w);
            changed();
        }
        return w;
    }

    boolean isHead(Waiter w) {
        return waiters.peekFirst() == w;
    }

    /** Wakes the head waiter so it re-checks idle connections and room. */
    void wakeHead() {
        Waiter w = waiters.peekFirst();
        if (w != null) {
            w.woken = true;
            w.wakeup.signal();
        }
    }

    /**
     * Sends every waiter away with {@code error}, the server's refusal of a login that would
     * refuse them all the same (PgBouncer's fast closure of the clients waiting on a failed login).
     */
    void failAll(ErrorResponse error) {
        Waiter w;
        while ((w = waiters.pollFirst()) != null) {
            left(w);
            w.failed = error;
            w.wakeup.signal();
        }
        changed();
    }

    /** Wakes every waiter (RESUME): each re-checks, the head takes its turn first. */
    void wakeAll() {
        for (Waiter w : waiters) {
            w.woken = true;
            w.wakeup.signal();
        }
    }

    int size() {
        return waiters.size();
    }

    /** The line's length as last published; no lock. */
    int length() {
        return length;
    }

    /** How long the head has waited, as last published; 0 when nobody waits. No lock. */
    long longestWaitNanos(long now) {
        Waiter h = head;
        return length > 0 && h != null ? Math.max(0, now - h.since) : 0;
    }

    private static void left(Waiter w) {
        if (w.client != null) {
            w.client.waitingSince(0);
        }
    }

    private void changed() {
        length = waiters.size();
        head = waiters.peekFirst();
    }
}
