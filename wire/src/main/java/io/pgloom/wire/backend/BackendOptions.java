package io.pgloom.wire.backend;

import io.pgloom.wire.tcp.Dialer;
import io.pgloom.wire.tcp.TcpTuning;
import io.pgloom.wire.tls.TlsConnector;

/**
 * How {@link BackendConnector} opens connections: the settings that apply to every connection to
 * a server, taken from one configuration snapshot.
 *
 * @param connectTimeoutMillis bounds the TCP connect and then each read of the login (0: no limit),
 *                             as server_connect_timeout does
 * @param tcp                  the TCP options of each socket (tcp_keepalive, tcp_keep*, tcp_socket_buffer)
 * @param dialer               how the connections are opened: JDK sockets, or pgloom's carriers (io_mode)
 * @param tls                  TLS towards the server (server_tls_*); null: never asked for (disable)
 */
public record BackendOptions(int connectTimeoutMillis, TcpTuning tcp, Dialer dialer, TlsConnector tls) {

    /** No connect timeout, PgBouncer's default TCP options (keepalive on with the system's timings). */
    public static final BackendOptions DEFAULT = new BackendOptions(0, TcpTuning.DEFAULT);

    /** JDK sockets, no TLS. */
    public BackendOptions(int connectTimeoutMillis, TcpTuning tcp) {
        this(connectTimeoutMillis, tcp, Dialer.JDK, null);
    }

    public BackendOptions {
        if (connectTimeoutMillis < 0) {
            throw new IllegalArgumentException("connect timeout " + connectTimeoutMillis + " ms");
        }
    }
}
