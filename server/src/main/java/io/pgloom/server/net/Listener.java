package io.pgloom.server.net;

import io.pgloom.server.TaskScope;
import io.pgloom.server.carrier.Carriers;
import io.pgloom.server.carrier.ChannelAcceptor;
import io.pgloom.server.carrier.ChannelConduit;
import io.pgloom.server.control.Pooler;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.wire.tcp.TcpTuning;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Accepts client connections on one address: a TCP address and port, or a Unix socket file
 * ({@link UnixSocket}).
 *
 * <p>Threading: the owner thread of this listener's scope (a virtual thread) blocks in
 * {@code accept()} and forks each accepted client's {@link ClientSession} into the scope itself, so
 * a new client costs no hand-off between threads. Closing the listening socket stops accepting;
 * closing the scope ends every session it started.
 */
public final class Listener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Listener.class);

    private final SessionFactory sessionFactory;
    private final Acceptor acceptor;
    private TaskScope sessions;

    /**
     * Makes the session for an accepted client. Production always uses {@code new ClientSession};
     * tests pass one that fails for chosen clients, to prove the acceptor outlives any such failure.
     */
    @FunctionalInterface
    interface SessionFactory {
        ClientSession open(Transport client) throws IOException;
    }

    /** What a listener accepts from: a TCP server socket or a Unix socket. */
    interface Acceptor {
        /** Blocks until a client connects; throws once closed. */
        Transport accept() throws IOException;

        boolean isOpen();

        /** Stops accepting (and, for a Unix socket, removes its file). Idempotent. */
        void close();

        /** The TCP port, or the port number in the Unix socket's name. */
        int port();

        /** For log lines: {@code 127.0.0.1:6432} or {@code unix:/tmp/.s.PGSQL.6432}. */
        String describe();

        /** tcp_defer_accept: whether the option is now as asked (false: this listener cannot set it). */
        default boolean deferAccept(boolean on) {
            return false;
        }
    }

    /**
     * A TCP listener on {@code host}:{@code port} (0: any free port). With {@code reusePort}
     * (so_reuseport) the socket gets SO_REUSEPORT before it binds, so other processes that set it
     * too can listen on the same port, and the kernel spreads new connections among them.
     */
    public Listener(Pooler pooler, String host, int port, int backlog, boolean reusePort) throws IOException {
        this(new TcpAcceptor(host, port, backlog, reusePort, pooler.settings().tcp()), client -> new ClientSession(pooler, client));
    }

    Listener(String host, int port, int backlog, SessionFactory sessionFactory) throws IOException {
        this(new TcpAcceptor(host, port, backlog, false, null), sessionFactory);
    }

    Listener(Acceptor acceptor, SessionFactory sessionFactory) {
        this.acceptor = acceptor;
        this.sessionFactory = sessionFactory;
    }

    /**
     * A listener on the Unix socket {@code <dir>/.s.PGSQL.<port>}, with file mode {@code mode} and,
     * unless {@code group} is blank, that group. Throws, naming the file, if another process
     * accepts on it or the mode or group cannot be applied; a stale file is replaced.
     */
    public static Listener unix(Pooler pooler, Path dir, int port, int mode, String group, int backlog) throws IOException {
        return new Listener(UnixSocket.bind(dir, port, mode, group, backlog), client -> new ClientSession(pooler, client));
    }

    public void start() {
        sessions = new TaskScope("clients-" + acceptor.describe(), this::acceptLoop);
        log.info("listening on {}", acceptor.describe());
    }

    public int port() {
        return acceptor.port();
    }

    /** {@code 127.0.0.1:6432} or {@code unix:/tmp/.s.PGSQL.6432}. */
    public String describe() {
        return acceptor.describe();
    }

    private void acceptLoop(TaskScope scope) {
        while (acceptor.isOpen()) {
            Transport client;
            try {
                client = acceptor.accept();
            } catch (IOException e) {
                if (acceptor.isOpen()) {
                    log.warn("accept failed on {}: {}", acceptor.describe(), e.toString());
                    continue;
                }
                return;
            }
            try {
                ClientSession session = sessionFactory.open(client);
                if (!scope.start(session)) {
                    client.close();
                }
            } catch (IOException | RuntimeException | Error e) {
                // Nothing may end this loop while the listener is open: a dead acceptor leaves the
                // port in LISTEN with connections queued that nobody ever accepts. Drop this one
                // client and go on; after an Error (out of memory), pause briefly so we do not spin.
                client.close();
                log.error("could not start a session for {}: {}", client.peer(), e.toString());
                if (e instanceof Error) {
                    try {
                        Thread.sleep(100);
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }
    }

    /** True for the Unix socket, which stays open for the admin console during a shutdown. */
    public boolean isUnix() {
        return acceptor instanceof UnixSocket;
    }

    /**
     * tcp_defer_accept, at start and at every RELOAD or SET: TCP_DEFER_ACCEPT on a TCP listener,
     * so the kernel hands a connection over only once the client's first bytes (its startup
     * packet) arrive, as PgBouncer sets it. Only io_mode = carriers reaches the listener's
     * descriptor; with io_mode = jdk, and on a Unix socket, this does nothing (false).
     */
    public boolean deferAccept(boolean on) {
        return acceptor.deferAccept(on);
    }

    /** Stops accepting new clients; sessions already running go on. */
    public void stopAccepting() {
        acceptor.close();
    }

    /** Stops accepting and ends every session of this listener. */
    @Override
    public void close() {
        stopAccepting();
        if (sessions != null) {
            sessions.close();
        }
    }

    /**
     * A TCP listening socket: a JDK server socket whose accepted sockets are JDK sockets
     * (io_mode = jdk), or a server channel accepted on by the owner thread's carrier, whose
     * accepted channels are carrier channels (io_mode = carriers).
     */
    private static final class TcpAcceptor implements Acceptor {
        private static final java.util.concurrent.atomic.AtomicBoolean ADVISED = new java.util.concurrent.atomic.AtomicBoolean();
        private final ServerSocket serverSocket;
        /** Set with io_mode = carriers: the channel {@link #serverSocket} belongs to. */
        private final ChannelAcceptor carried;
        /** The options every accepted socket has from the listening one, or null (see {@link ChannelAcceptor#tuneListener}). */
        private final TcpTuning inherited;

        /**
         * {@code tcp}: the options clients' sockets are to have (tcp_keepalive and kin), given to
         * the listening socket where its connections inherit them (io_mode = carriers); each
         * session still sets them itself when a RELOAD has changed them since, or under io_mode
         * = jdk. Null: none (tests).
         */
        TcpAcceptor(String host, int port, int backlog, boolean reusePort, TcpTuning tcp) throws IOException {
            ServerSocketChannel channel = Carriers.active() ? ServerSocketChannel.open() : null;
            serverSocket = channel != null ? channel.socket() : new ServerSocket();
            try {
                inherited = channel != null && tcp != null && tuned(channel, tcp, host, port) ? tcp : null;
                serverSocket.setReuseAddress(true);
                if (reusePort) {
                    if (!serverSocket.supportedOptions().contains(StandardSocketOptions.SO_REUSEPORT)) {
                        throw new IOException("so_reuseport = 1, but this system has no SO_REUSEPORT");
                    }
                    serverSocket.setOption(StandardSocketOptions.SO_REUSEPORT, true);
                    adviseOnAcceptQueue();
                }
                serverSocket.bind(new InetSocketAddress(host, port), backlog);
                carried = channel != null ? new ChannelAcceptor(channel) : null;
            } catch (IOException | RuntimeException e) {
                serverSocket.close();
                throw e;
            }
        }

        /** Whether {@code channel} now has {@code tcp}'s options for its connections to inherit; a failure is each session's to meet. */
        private static boolean tuned(ServerSocketChannel channel, TcpTuning tcp, String host, int port) {
            try {
                return ChannelAcceptor.tuneListener(channel, tcp);
            } catch (IOException e) {
                log.warn("could not give the listening socket {}:{} the TCP options for its clients ({}); each client's"
                        + " socket gets them instead", host, port, e.getMessage());
                return false;
            }
        }

        /**
         * Linux resets the connections waiting in the accept queue of a SO_REUSEPORT listener that
         * closes, unless net.ipv4.tcp_migrate_req hands them to another listener of the port:
         * with so_reuseport a rolling restart closes listeners, so say so once, where it applies.
         */
        private static void adviseOnAcceptQueue() {
            Path sysctl = Path.of("/proc/sys/net/ipv4/tcp_migrate_req");
            try {
                if (Files.isReadable(sysctl) && Files.readString(sysctl).trim().equals("0") && !ADVISED.getAndSet(true)) {
                    log.info("so_reuseport: net.ipv4.tcp_migrate_req is 0, so connections still queued when this"
                            + " process stops listening are reset (clients retry the connect); set it to 1 to hand"
                            + " them to the other processes on the port");
                }
            } catch (IOException ignored) {
                // no advice then
            }
        }

        @Override
        public Transport accept() throws IOException {
            if (carried == null) {
                return new Transport.Tcp(serverSocket.accept());
            }
            if (carried.acceptsDescriptors()) {
                return new Transport.Tcp(carried.acceptTcp(), inherited);
            }
            return new Transport.Tcp(ChannelConduit.of(carried.accept()), inherited);
        }

        @Override
        public boolean isOpen() {
            return !serverSocket.isClosed();
        }

        @Override
        public boolean deferAccept(boolean on) {
            if (carried == null) {
                return false;
            }
            try {
                carried.deferAccept(on);
                return true;
            } catch (IOException e) {
                log.warn("tcp_defer_accept: could not set TCP_DEFER_ACCEPT on {}: {}", describe(), e.getMessage());
                return false;
            }
        }

        @Override
        public void close() {
            if (carried != null) {
                carried.close();
                return;
            }
            try {
                serverSocket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }

        @Override
        public int port() {
            return serverSocket.getLocalPort();
        }

        @Override
        public String describe() {
            return serverSocket.getInetAddress().getHostAddress() + ":" + serverSocket.getLocalPort();
        }
    }
}
