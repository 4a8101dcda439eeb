package io.pgloom.wire.tcp;

import java.io.IOException;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import jdk.net.ExtendedSocketOptions;

/**
 * The options PgBouncer sets on each TCP socket, client or server (its tune_socket): TCP_NODELAY
 * always; SO_KEEPALIVE from tcp_keepalive and, only when that is on, TCP_KEEPIDLE, TCP_KEEPINTVL
 * and TCP_KEEPCNT when set above 0; SO_SNDBUF and SO_RCVBUF from tcp_socket_buffer when above 0.
 * 0 leaves the system's default, as in PgBouncer.
 *
 * <p>The keepalive timings are the JDK's {@link ExtendedSocketOptions}, present on Linux and
 * macOS; where the platform lacks one it is skipped, as PgBouncer skips what its platform lacks.
 *
 * @param keepalive     tcp_keepalive
 * @param keepIdleSecs  tcp_keepidle: idle seconds before the first probe
 * @param keepIntvlSecs tcp_keepintvl: seconds between probes
 * @param keepCount     tcp_keepcnt: unanswered probes before the connection is dropped
 * @param socketBuffer  tcp_socket_buffer: bytes of send and of receive buffer
 */
public record TcpTuning(boolean keepalive, int keepIdleSecs, int keepIntvlSecs, int keepCount, int socketBuffer) {

    /** Keepalive on with the system's timings and system buffers: PgBouncer's defaults. */
    public static final TcpTuning DEFAULT = new TcpTuning(true, 0, 0, 0, 0);

    /**
     * Sets the options on {@code socket}. For a socket pgloom connects, call it before connecting,
     * so that the receive buffer is known when the window is negotiated. A value the system
     * refuses (tcp_keepcnt above 127 on Linux, say) throws a {@link SocketException} that names
     * the option and the value.
     */
    public void apply(Socket socket) throws IOException {
        // Protocol messages are small and answered at once; Nagle would hold them back.
        set(socket, StandardSocketOptions.TCP_NODELAY, true);
        set(socket, StandardSocketOptions.SO_KEEPALIVE, keepalive);
        if (keepalive) {
            setIfPositive(socket, ExtendedSocketOptions.TCP_KEEPIDLE, keepIdleSecs);
            setIfPositive(socket, ExtendedSocketOptions.TCP_KEEPINTERVAL, keepIntvlSecs);
            setIfPositive(socket, ExtendedSocketOptions.TCP_KEEPCOUNT, keepCount);
        }
        if (socketBuffer > 0) {
            set(socket, StandardSocketOptions.SO_SNDBUF, socketBuffer);
            set(socket, StandardSocketOptions.SO_RCVBUF, socketBuffer);
        }
    }

    private static void setIfPositive(Socket socket, SocketOption<Integer> option, int value) throws IOException {
        if (value > 0 && socket.supportedOptions().contains(option)) {
            set(socket, option, value);
        }
    }

    private static <T> void set(Socket socket, SocketOption<T> option, T value) throws IOException {
        try {
            socket.setOption(option, value);
        } catch (IOException e) {
            SocketException named = new SocketException("could not set " + option.name() + " = " + value + ": " + e.getMessage());
            named.initCause(e);
            throw named;
        }
    }
}
