package io.pgloom.server.pool;

import io.pgloom.server.control.Pooler;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Holds a pool's lock (the one acquire and release of servers take) on a thread of its own until
 * closed, so a test can show that readers of the pool's state never wait for it. In the server's
 * package to reach the package-private lock; public for the tests in {@code io.pgloom.tests}.
 */
public final class PoolLockHolder implements AutoCloseable {
    private final CountDownLatch held = new CountDownLatch(1);
    private final CountDownLatch done = new CountDownLatch(1);
    private final Thread thread;

    private PoolLockHolder(Pool pool) {
        thread = Thread.ofPlatform().name("pool-lock-holder " + pool.key()).start(() -> {
            pool.lock.lock();
            try {
                held.countDown();
                done.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                pool.lock.unlock();
            }
        });
    }

    /** Takes the lock of the pool of ({@code database}, {@code user}), which must exist, and returns once it is held. */
    public static PoolLockHolder hold(Pooler pooler, String database, String user) throws InterruptedException {
        Pool pool = pooler.existingPool(database, user);
        if (pool == null) {
            throw new IllegalStateException("no pool " + database + "/" + user + " yet");
        }
        PoolLockHolder h = new PoolLockHolder(pool);
        if (!h.held.await(30, TimeUnit.SECONDS)) {
            h.close();
            throw new AssertionError("could not take the lock of pool " + pool.key() + " within 30 s");
        }
        return h;
    }

    /** Lets the lock go and waits until it is released. */
    @Override
    public void close() throws InterruptedException {
        done.countDown();
        thread.join(TimeUnit.SECONDS.toMillis(30));
    }
}
