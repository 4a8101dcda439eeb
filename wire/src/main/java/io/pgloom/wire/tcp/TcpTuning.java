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

    /** Where {@link #applyTo} sets the options: a JDK socket, or a listening socket's descriptor. */
    public interface OptionSetter {
        <T> void set(SocketOption<T> option, T value) throws IOException;
    }

    /**
     * Sets the options on {@code socket}. For a socket pgloom connects, call it before connecting,
     * so that the receive buffer is known when the window is negotiated. A keepalive timing the
     * platform lacks is skipped.
     */
    public void apply(Socket socket) throws IOException {
        applyTo(new OptionSetter() {
            @Override
            public <T> void set(SocketOption<T> option, T value) throws IOException {
                if (socket.supportedOptions().contains(option)) {
                    socket.setOption(option, value);
                }
            }
        });
    }

    /**
     * Gives {@code to} each option PgBouncer's rules call for (the class comment). A value the
     * system refuses (tcp_keepcnt above 127 on Linux, say) throws a {@link SocketException} that
     * names the option and the value.
     */
    public void applyTo(OptionSetter to) throws IOException {
        // Protocol messages are small and answered at once; Nagle would hold them back.
        set(to, StandardSocketOptions.TCP_NODELAY, true);
        set(to, StandardSocketOptions.SO_KEEPALIVE, keepalive);
        if (keepalive) {
            setIfPositive(to, ExtendedSocketOptions.TCP_KEEPIDLE, keepIdleSecs);
            setIfPositive(to, ExtendedSocketOptions.TCP_KEEPINTERVAL, keepIntvlSecs);
            setIfPositive(to, ExtendedSocketOptions.TCP_KEEPCOUNT, keepCount);
        }
        if (socketBuffer > 0) {
            set(to, StandardSocketOptions.SO_SNDBUF, socketBuffer);
            set(to, StandardSocketOptions.SO_RCVBUF, socketBuffer);
        }
    }

    private static void setIfPositive(OptionSetter to, SocketOption<Integer> option, int value) throws IOException {
        if (value > 0) {
            set(to, option, value);
        }
    }

    private static <T> void set(OptionSetter to, SocketOption<T> option, T value) throws IOException {
        try {
            to.set(option, value);
        } catch (IOException e) {
            SocketException named = new SocketException("could not set " + option.name() + " = " + value + ": " + e.getMessage());
            named.initCause(e);
            throw named;
        }
    }
}
