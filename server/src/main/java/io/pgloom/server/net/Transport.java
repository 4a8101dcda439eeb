package io.pgloom.server.net;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import io.pgloom.server.carrier.ChannelAcceptor;
import io.pgloom.server.carrier.ChannelConduit;
import io.pgloom.wire.tcp.Conduit;
import io.pgloom.wire.tcp.JdkConduit;
import io.pgloom.wire.tcp.TcpTuning;
import io.pgloom.wire.tls.TlsStream;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import jdk.net.ExtendedSocketOptions;

/**
 * The connection a client came in on: a TCP socket or a Unix-domain socket, and later the same
 * connection encrypted ({@link Upgrade}). A session reads and writes its streams and never asks
 * which it is, except to name the peer in logs and SHOW CLIENTS, and to hand login the
 * {@link ConnectionInfo} it decides on.
 *
 * <p>Threading: the streams are used by the client's own thread (reads) and by whoever holds the
 * client's write lock (writes); {@link #close} may come from any thread. Nothing here holds
 * per-client state beyond the socket itself: an idle client costs what its socket costs.
 *
 * <p>No kind has a read timeout: client_login_timeout, client_idle_timeout and
 * idle_transaction_timeout are enforced by the client janitor, which closes the transport; a read
 * blocked on it then fails and the session's own thread cleans up.
 */
public interface Transport {

    InputStream input() throws IOException;

    OutputStream output() throws IOException;

    /** Per-connection options: PgBouncer's TCP options (tcp_keepalive...) for TCP; a Unix socket has none. */
    void configure(TcpTuning tcp) throws IOException;

    /** The peer as log lines name it: {@code 127.0.0.1:51234} or {@code unix:/tmp/.s.PGSQL.6432}. */
    String peer();

    /** SHOW CLIENTS' addr, port, local_addr and local_port: for a Unix socket "unix" and the listen port, as PgBouncer. */
    String remoteAddress();

    int remotePort();

    String localAddress();

    int localPort();

    /**
     * What login decides on about this connection, computed now (not kept: idle clients are
     * many). For a Unix socket this asks the kernel for the peer's credentials, one system call
     * and a user and group lookup, so call it once per login, not per message.
     */
    ConnectionInfo info() throws IOException;

    /** SHOW CLIENTS' tls column: protocol and cipher suite of an encrypted connection; empty for plain text. */
    default String encryption() {
        return "";
    }

    /** Closes the connection; idempotent, never throws. A thread blocked reading or writing it wakes with an IOException. */
    void close();

    /**
     * Turns a plain connection into an encrypted one in place, after the client's SSLRequest was
     * answered 'S': runs the TLS handshake over {@code plain}'s socket and returns the transport
     * whose streams are the encrypted ones (closing it closes {@code plain}). Its
     * {@link #info()} reports the TLS state and the client's certificate.
     *
     * <p>After an SSLRequest, the caller must have checked that nothing the client sent after it is
     * buffered: such bytes came in plain text and must never be read as if they had been
     * encrypted (CVE-2021-23214). Without client TLS configured (or on the Unix socket) there is
     * no upgrade, and the client is told 'N'.
     */
    @FunctionalInterface
    interface Upgrade {
        /**
         * {@code alreadyRead}: the start of the ClientHello when the client began TLS at once
         * (PostgreSQL 17's direct TLS) and those bytes were read to tell; empty after an SSLRequest.
         */
        Transport upgrade(Transport plain, byte[] alreadyRead) throws IOException;
    }

    /**
     * A client that came in over TCP: a JDK socket (io_mode = jdk) or a carrier's connection
     * (io_mode = carriers: a bare descriptor, or a channel where the JVM allows no direct calls).
     * Its addresses are taken once, at accept ({@code local} is shared by the clients of a
     * listener where its acceptor can tell, see {@link ChannelAcceptor#acceptTcp}).
     * {@code inherited}: the options the socket already has from its listener, or null.
     */
    record Tcp(Conduit conduit, InetSocketAddress remote, InetSocketAddress local, TcpTuning inherited)
            implements Transport {
        /** A connection with a socket object, which tells its addresses. */
        public Tcp(Conduit conduit) {
            this(conduit, null);
        }

        /** A socket accepted from a listener that was given {@code inherited}'s options (null: none). */
        public Tcp(Conduit conduit, TcpTuning inherited) {
            this(conduit, conduit.socket(), inherited);
        }

        private Tcp(Conduit conduit, Socket socket, TcpTuning inherited) {
            this(conduit, new InetSocketAddress(socket.getInetAddress(), socket.getPort()),
                    new InetSocketAddress(socket.getLocalAddress(), socket.getLocalPort()), inherited);
        }

        /** A connection a carrier's listener accepted as a bare descriptor, with the addresses it reported. */
        public Tcp(ChannelAcceptor.Accepted accepted, TcpTuning inherited) {
            this(accepted.conduit(), accepted.remote(), accepted.local(), inherited);
        }

        /** A JDK socket. */
        public Tcp(Socket socket) {
            this(new JdkConduit(socket));
        }

        @Override
        public InputStream input() throws IOException {
            return conduit.input();
        }

        @Override
        public OutputStream output() throws IOException {
            return conduit.output();
        }

        /** Skipped when the socket has these options from its listener already (a RELOAD since may have changed them). */
        @Override
        public void configure(TcpTuning tcp) throws IOException {
            if (!tcp.equals(inherited)) {
                conduit.tune(tcp);
            }
        }

        @Override
        public String peer() {
            return remoteAddress() + ":" + remote.getPort();
        }

        @Override
        public String remoteAddress() {
            return remote.getAddress().getHostAddress();
        }

        @Override
        public int remotePort() {
            return remote.getPort();
        }

        @Override
        public String localAddress() {
            return LocalAddresses.text(local.getAddress());
        }

        @Override
        public int localPort() {
            return local.getPort();
        }

        @Override
        public ConnectionInfo info() {
            // From the addresses taken at accept: no name lookup, no system call.
            return ConnectionInfo.tcp(remote, local);
        }

        @Override
        public void close() {
            conduit.close();
        }
    }

    /**
     * A client that came in over the Unix socket {@code path} (shared by every client of that
     * listener: no string per client). With io_mode = jdk ({@code carried} null) the channel
     * blocks and its streams read and write straight into the caller's arrays; interrupting a
     * thread blocked on them closes the channel, which is what the listener's scope does at
     * shutdown anyway. With io_mode = carriers the channel is a carrier's ({@code carried}).
     */
    record Unix(SocketChannel channel, ChannelConduit carried, String path, int port) implements Transport {
        /** A blocking channel (io_mode = jdk). */
        public Unix(SocketChannel channel, String path, int port) {
            this(channel, null, path, port);
        }

        @Override
        public InputStream input() {
            return carried != null ? carried.input() : Channels.newInputStream(channel);
        }

        @Override
        public OutputStream output() {
            return carried != null ? carried.output() : Channels.newOutputStream(channel);
        }

        @Override
        public void configure(TcpTuning tcp) {
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

        /**
         * SO_PEERCRED: the user and group of the process that connected, as the kernel recorded
         * them at connect time (Linux and macOS; elsewhere none). Asked for here rather than kept:
         * only a login needs it.
         */
        @Override
        public ConnectionInfo info() throws IOException {
            boolean known = channel.supportedOptions().contains(ExtendedSocketOptions.SO_PEERCRED);
            return ConnectionInfo.unix(port, known ? channel.getOption(ExtendedSocketOptions.SO_PEERCRED) : null);
        }

        @Override
        public void close() {
            if (carried != null) {
                carried.close();
                return;
            }
            try {
                channel.close();
            } catch (IOException ignored) {
                // closed anyway
            }
        }
    }

    /**
     * A TCP client after its TLS handshake: the same socket ({@code plain}), read and written
     * through {@code tls}. Addresses and options are the plain connection's.
     */
    record Tls(Transport plain, TlsStream tls) implements Transport {
        @Override
        public InputStream input() {
            return tls.input();
        }

        @Override
        public OutputStream output() {
            return tls.output();
        }

        @Override
        public void configure(TcpTuning tcp) throws IOException {
            plain.configure(tcp);
        }

        @Override
        public String peer() {
            return plain.peer();
        }

        @Override
        public String remoteAddress() {
            return plain.remoteAddress();
        }

        @Override
        public int remotePort() {
            return plain.remotePort();
        }

        @Override
        public String localAddress() {
            return plain.localAddress();
        }

        @Override
        public int localPort() {
            return plain.localPort();
        }

        @Override
        public String encryption() {
            SSLSession session = tls.session();
            return session.getProtocol() + "/" + session.getCipherSuite();
        }

        /** The plain connection's facts, with the protocol, cipher suite and the client's certificate. */
        @Override
        public ConnectionInfo info() throws IOException {
            SSLSession session = tls.session();
            X509Certificate cert = null;
            try {
                Certificate[] chain = session.getPeerCertificates();
                if (chain.length > 0 && chain[0] instanceof X509Certificate x) {
                    cert = x;
                }
            } catch (SSLPeerUnverifiedException e) {
                // the client sent no certificate
            }
            return plain.info().withTls(new ConnectionInfo.Tls(session.getProtocol(), session.getCipherSuite()), cert);
        }

        /**
         * Closes the socket without a close_notify: close may come from any thread (the janitor,
         * a shutdown), and a close_notify written into a full socket buffer would block it. A
         * client reads the end of the connection as the end of the session either way.
         */
        @Override
        public void close() {
            plain.close();
        }
    }
}
