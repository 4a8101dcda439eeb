package io.pgloom.server.pool;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * A cap on server connections shared by several pools: max_db_connections across the users of a
 * database, max_user_connections across the databases of a user. Zero means no cap.
 */
public final class ConnectionBudget {
    private final AtomicInteger used = new AtomicInteger();
    private volatile int limit;

    public ConnectionBudget(int limit) {
        this.limit = limit;
    }

    public void setLimit(int limit) {
        this.limit = limit;
    }

    boolean tryTake() {
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

    void giveBack() {
        used.decrementAndGet();
    }

    public int used() {
        return used.get();
    }
}
