package io.pgloom.wire.backend;

/**
 * How {@link BackendConnector} opens connections: the settings that apply to every connection to
 * a server, taken from one configuration snapshot. Server TLS (sslmode, its certificates) belongs
 * here when it comes, so that the callers do not change.
 *
 * @param connectTimeoutMillis bounds the TCP connect and then each read of the login (0: no limit),
 *                             as server_connect_timeout does
 * @param tcpKeepalive         SO_KEEPALIVE on the socket (tcp_keepalive)
 */
public record BackendOptions(int connectTimeoutMillis, boolean tcpKeepalive) {

    /** No connect timeout, keepalive on (PgBouncer's tcp_keepalive default). */
    public static final BackendOptions DEFAULT = new BackendOptions(0, true);

    public BackendOptions {
        if (connectTimeoutMillis < 0) {
            throw new IllegalArgumentException("connect timeout " + connectTimeoutMillis + " ms");
        }
    }
}
