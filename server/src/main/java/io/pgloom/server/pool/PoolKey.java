package io.pgloom.server.pool;

/** A pool serves one (database entry, user) pair, as in PgBouncer. */
public record PoolKey(String database, String user) {
    @Override
    public String toString() {
        return database + "/" + user;
    }
}
