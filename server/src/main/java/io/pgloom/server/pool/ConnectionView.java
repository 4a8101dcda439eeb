package io.pgloom.server.pool;

/**
 * One client or server connection as SHOW CLIENTS and SHOW SERVERS list it (PgBouncer's socket
 * row). Taken from live objects without stopping them, so fields may be a moment apart.
 *
 * @param type               "C" for a client, "S" for a server
 * @param user               the client's login name, or the user the server is logged in as
 * @param state              PgBouncer's word: active, idle, waiting, used, tested, being_canceled
 * @param connectEpochMillis when the connection was made
 * @param requestEpochMillis when it last started a request (for a client: last sent anything)
 * @param replication        SHOW CLIENTS' replication column: none, logical or physical
 * @param waitNanos          how long a client has been waiting for a server; 0 otherwise
 * @param ptr                this connection's name in pgloom's logs (C-… or S-…), PgBouncer's ptr
 * @param link               the {@code ptr} of the connection it is linked to, or empty
 * @param remotePid          a server's backend process id; 0 for clients
 * @param tls                the encryption in use, as {@code TLSv1.3/TLS_AES_256_GCM_SHA384}; empty for plain text
 * @param id                 a client's id (its cancel key's process id) or a server's number
 */
public record ConnectionView(String type, String user, String database, String state, String addr, int port,
                             String localAddr, int localPort, long connectEpochMillis, long requestEpochMillis,
                             long waitNanos, boolean closeNeeded, String ptr, String link, int remotePid,
                             String tls, String applicationName, int preparedStatements, int id, String replication) {

    /** Wall-clock time of a {@link System#nanoTime} reading, for connect_time and request_time. */
    public static long epochMillis(long nanoTime, long nowNanos, long nowMillis) {
        return nowMillis - (nowNanos - nanoTime) / 1_000_000;
    }
}
