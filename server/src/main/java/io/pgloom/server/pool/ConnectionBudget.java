package io.pgloom.server.pool;

/**
 * A cap on server connections shared by several pools: max_db_connections across the users of a
 * database, max_user_connections across the databases of a user. A limit of zero means no cap.
 *
 * <p>Threading: any thread may call any method at any time. A pool calls {@link #tryTake} and
 * {@link #giveBack} only while it holds none of its own locks, so an implementation may take its
 * time (a cluster-wide budget that leases blocks of slots from its peers) without stalling the
 * pool's other callers; it should still answer from what it holds locally whenever it can,
 * because a caller waits for the answer before it connects.
 */
public interface ConnectionBudget {
    /** Takes one slot for a connection about to be opened; false if the budget is used up. */
    boolean tryTake();

    /** Returns a slot taken by {@link #tryTake}: its connection closed or was never opened. */
    void giveBack();

    /** Slots taken now (server connections open or being opened), for SHOW DATABASES / SHOW USERS. */
    int used();

    /** The cap; 0 for none. */
    int limit();

    /** A reload changed the cap; connections above a lowered cap are not closed, only not replaced. */
    void setLimit(int limit);
}
