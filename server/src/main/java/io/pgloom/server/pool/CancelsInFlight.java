package io.pgloom.server.pool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The cancel requests on their way to one backend. While any is, the backend must not serve
 * another client (the cancel could hit that client's query), so its release waits in
 * {@link #awaitNone}, and the last cancel to finish wakes it: no polling.
 *
 * <p>Threading: any thread counts up and down (the clients forwarding cancels); at most one thread
 * at a time waits (the one release of the connection in progress).
 */
public final class CancelsInFlight {
    private static final VarHandle COUNT;

    static {
        try {
            COUNT = MethodHandles.lookup().findVarHandle(CancelsInFlight.class, "count", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @SuppressWarnings("unused") // through COUNT
    private volatile int count;
    private volatile Thread waiter;

    public int get() {
        return count;
    }

    public int incrementAndGet() {
        return (int) COUNT.getAndAdd(this, 1) + 1;
    }

    /** One cancel finished (forwarded or given up); the last one wakes a waiting release. */
    public int decrementAndGet() {
        int left = (int) COUNT.getAndAdd(this, -1) - 1;
        if (left == 0) {
            Thread w = waiter;
            if (w != null) {
                LockSupport.unpark(w);
            }
        }
        return left;
    }

    /** Waits until no cancel is in flight, at most {@code nanos}; true if none is. */
    boolean awaitNone(long nanos) throws InterruptedException {
        long until = System.nanoTime() + nanos;
        // Published before the count is read: a cancel that finishes after the read unparks us.
        waiter = Thread.currentThread();
        try {
            while (count > 0) {
                long left = until - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                LockSupport.parkNanos(this, left);
                if (Thread.interrupted()) {
                    throw new InterruptedException();
                }
            }
            return true;
        } finally {
            waiter = null;
        }
    }
}
