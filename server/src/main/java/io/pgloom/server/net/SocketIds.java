package io.pgloom.server.net;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The {@code id} column of SHOW CLIENTS, SERVERS and SOCKETS: one counter for every socket pgloom
 * accepts or opens, clients and servers alike, in the order they come, as PgBouncer numbers its
 * sockets. Scripts that KILL_CLIENT by id, and PgBouncer's own tests, rely on that order.
 */
public final class SocketIds {
    private static final AtomicInteger LAST = new AtomicInteger();

    private SocketIds() {
    }

    /** The next id: 1, 2, 3, ... (after 2^31 - 1 it starts again from 0). */
    public static int next() {
        return LAST.incrementAndGet() & Integer.MAX_VALUE;
    }
}
