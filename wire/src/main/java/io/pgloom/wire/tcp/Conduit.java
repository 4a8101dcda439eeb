package io.pgloom.wire.tcp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;

/**
 * A connected TCP socket as pgloom's protocol code uses it: two blocking streams, a read timeout,
 * the socket's options and addresses, and a close. Two kinds exist: the JDK's own socket
 * ({@link JdkConduit}) and, when pgloom runs on its own carriers, a non-blocking channel whose
 * reads park the calling virtual thread until its carrier's epoll reports the socket (the server
 * module's {@code carrier.ChannelConduit}). Protocol code never asks which.
 *
 * <p>Threading: one reader and one writer at a time; {@link #close} from any thread wakes both
 * with an IOException.
 */
public interface Conduit {

    InputStream input() throws IOException;

    OutputStream output() throws IOException;

    /** Bounds each later read (milliseconds; 0: no bound); one that passes it throws {@link java.net.SocketTimeoutException}. */
    void readTimeout(int millis) throws IOException;

    /**
     * The socket, for its options and addresses (its streams are not to be used: take
     * {@link #input} and {@link #output}). Null for a client connection that a carrier's listener
     * accepted as a bare descriptor: no socket object is made for it; whoever accepted it knows
     * its addresses, and {@link #tune} sets its options.
     */
    Socket socket();

    /** Sets {@code tcp}'s options (tcp_keepalive and kin) on the connection. */
    default void tune(TcpTuning tcp) throws IOException {
        tcp.apply(socket());
    }

    /** Idempotent, never throws. */
    void close();
}
