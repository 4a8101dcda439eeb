package io.pgloom.server.net;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;

/**
 * The connection a client came in on: a TCP socket or a Unix-domain socket. A session reads and
 * writes its streams and never asks which it is, except to name the peer in logs and SHOW CLIENTS.
 *
 * <p>Neither kind has a read timeout: client_login_timeout, client_idle_timeout and
 * idle_transaction_timeout are enforced by the {@link ClientJanitor}, which closes the transport;
 * a read blocked on it then fails and the session's own thread cleans up.
 */
public sealed interface ClientTransport {

    InputStream input() throws IOException;

    OutputStream output() throws IOException;

    /** Per-connection options: TCP_NODELAY and SO_KEEPALIVE for TCP; a Unix socket has none. */
    void configure(boolean keepalive) throws IOException;

    /** The peer as log lines name it: {@code 127.0.0.1:51234} or {@code unix:/tmp/.s.PGSQL.6432}. */
    String peer();

    /** SHOW CLIENTS' addr, port, local_addr and local_port: for a Unix socket "unix" and the listen port, as PgBouncer. */
    String remoteAddress();

    int remotePort();

    String localAddress();

    int localPort();

    /** Closes the connection; idempotent, never throws. A thread blocked reading or writing it wakes with an IOException. */
    void close();

    /** A client that came in over TCP. */
    record Tcp(Socket socket, String localAddress) implements ClientTransport {
        /**
         * The local address is taken once: Socket#getLocalAddress takes the socket's state lock,
         * which every read and write take too. Interned: a listener has few local addresses.
         */
        public Tcp(Socket socket) {
            this(socket, socket.getLocalAddress().getHostAddress().intern());
        }

        @Override
        public InputStream input() throws IOException {
            return socket.getInputStream();
        }

        @Override
        public OutputStream output() throws IOException {
            return socket.getOutputStream();
        }

        @Override
        public void configure(boolean keepalive) throws IOException {
            socket.setTcpNoDelay(true);
            socket.setKeepAlive(keepalive);
        }

        @Override
        public String peer() {
            // A closed socket still knows the address it was connected to.
            return socket.getInetAddress().getHostAddress() + ":" + socket.getPort();
        }

        @Override
        public String remoteAddress() {
            return socket.getInetAddress().getHostAddress();
        }

        @Override
        public int remotePort() {
            return socket.getPort();
        }

        @Override
        public int localPort() {
            return socket.getLocalPort();
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closed anyway
            }
        }
    }

    /**
     * A client that came in over the Unix socket {@code path} (shared by every client of that
     * listener: no string per client). The channel's streams read and write straight into the
     * caller's arrays; interrupting a thread blocked on them closes the channel, which is what
     * the listener's scope does at shutdown anyway.
     */
    record Unix(SocketChannel channel, String path, int port) implements ClientTransport {
        @Override
        public InputStream input() {
            return Channels.newInputStream(channel);
        }

        @Override
        public OutputStream output() {
            return Channels.newOutputStream(channel);
        }

        @Override
        public void configure(boolean keepalive) {
            // no TCP options on a Unix socket
        }

        @Override
        public String peer() {
            return "unix:" + path;
        }

        @Override
        public String remoteAddress() {
            return "unix";
        }

        @Override
        public int remotePort() {
            return port;
        }

        @Override
        public String localAddress() {
            return "unix";
        }

        @Override
        public int localPort() {
            return port;
        }

        @Override
        public void close() {
            try {
                channel.close();
            } catch (IOException ignored) {
                // closed anyway
            }
        }
    }
}
