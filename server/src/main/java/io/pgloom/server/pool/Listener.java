package io.pgloom.server.pool;

import io.pgloom.server.TaskScope;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Accepts client connections on one address.
 *
 * <p>Threading: the owner thread of this listener's scope (a virtual thread) blocks in
 * {@code accept()} and forks each accepted socket's {@link ClientSession} into the scope itself, so
 * a new client costs no hand-off between threads. Closing the server socket stops accepting;
 * closing the scope ends every session it started.
 */
public final class Listener implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Listener.class);

    private final SessionFactory sessionFactory;
    private final ServerSocket serverSocket;
    private final String address;
    private TaskScope sessions;

    /**
     * Makes the session for an accepted client. Production always uses {@code new ClientSession};
     * tests pass one that fails for chosen clients, to prove the acceptor outlives any such failure.
     */
    @FunctionalInterface
    interface SessionFactory {
        ClientSession open(Socket socket) throws IOException;
    }

    public Listener(Pooler pooler, String host, int port, int backlog) throws IOException {
        this(host, port, backlog, socket -> new ClientSession(pooler, socket));
    }

    Listener(String host, int port, int backlog, SessionFactory sessionFactory) throws IOException {
        this.sessionFactory = sessionFactory;
        this.serverSocket = new ServerSocket();
        serverSocket.setReuseAddress(true);
        serverSocket.bind(new InetSocketAddress(host, port), backlog);
        this.address = host + ":" + serverSocket.getLocalPort();
    }

    public void start() {
        sessions = new TaskScope("clients-" + address, this::acceptLoop);
        log.info("listening on {}:{}", serverSocket.getInetAddress().getHostAddress(), serverSocket.getLocalPort());
    }

    public int port() {
        return serverSocket.getLocalPort();
    }

    private void acceptLoop(TaskScope scope) {
        while (!serverSocket.isClosed()) {
            Socket socket;
            try {
                socket = serverSocket.accept();
            } catch (IOException e) {
                if (!serverSocket.isClosed()) {
                    log.warn("accept failed: {}", e.toString());
                    continue;
                }
                return;
            }
            try {
                ClientSession session = sessionFactory.open(socket);
                if (!scope.start("client-" + socket.getPort(), session)) {
                    closeQuietly(socket);
                }
            } catch (IOException | RuntimeException | Error e) {
                // Nothing may end this loop while the listener is open: a dead acceptor leaves the
                // port in LISTEN with connections queued that nobody ever accepts. Drop this one
                // client and go on; after an Error (out of memory), pause briefly so we do not spin.
                closeQuietly(socket);
                log.error("could not start a session for {}: {}", socket.getRemoteSocketAddress(), e.toString());
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

    private static void closeQuietly(Socket socket) {
        try {
            socket.close();
        } catch (IOException ignored) {
            // gone anyway
        }
    }

    /** Stops accepting new clients; sessions already running go on. */
    public void stopAccepting() {
        try {
            serverSocket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
    }

    /** Stops accepting and ends every session of this listener. */
    @Override
    public void close() {
        stopAccepting();
        if (sessions != null) {
            sessions.close();
        }
    }
}
