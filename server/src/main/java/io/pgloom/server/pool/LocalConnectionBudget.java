package io.pgloom.server.pool;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link ConnectionBudget} counted in this process only, as PgBouncer counts it: one atomic
 * counter, so taking and giving back never block.
 */
public final class LocalConnectionBudget implements ConnectionBudget {
    private final AtomicInteger used = new AtomicInteger();
    private volatile int limit;

    public LocalConnectionBudget(int limit) {
        this.limit = limit;
    }

    @Override
    public boolean tryTake() {
        while (true) {
            int u = used.get();
            int l = limit;
            if (l > 0 && u >= l) {
                return false;
            }
            if (used.compareAndSet(u, u + 1)) {
                return true;
            }
        }
    }

    @Override
    public void giveBack() {
        used.decrementAndGet();
    }

    @Override
    public int used() {
        return used.get();
    }

    @Override
    public int limit() {
        return limit;
    }

    @Override
    public void setLimit(int limit) {
        this.limit = limit;
    }
}
