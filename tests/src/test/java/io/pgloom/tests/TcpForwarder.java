package io.pgloom.tests;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A plain TCP forwarder on a fixed loopback port: a backend that "comes back" when it starts and
 * "dies" when it closes (closing also cuts every connection it forwarded).
 */
final class TcpForwarder implements AutoCloseable {
    final AtomicInteger accepted = new AtomicInteger();
    private final ServerSocket socket;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();

    TcpForwarder(int port, int target) throws IOException {
        socket = new ServerSocket(port, 50, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!socket.isClosed()) {
                try {
                    Socket a = socket.accept();
                    Socket b = new Socket(InetAddress.getLoopbackAddress(), target);
                    open.add(a);
                    open.add(b);
                    accepted.incrementAndGet();
                    Thread.ofVirtual().start(() -> pipe(a, b));
                    Thread.ofVirtual().start(() -> pipe(b, a));
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    /** A loopback port nothing listens on right now. */
    static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }

    private void pipe(Socket from, Socket to) {
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            in.transferTo(out);
        } catch (IOException ignored) {
            // one side closed
        } finally {
            closeQuietly(from);
            closeQuietly(to);
        }
    }

    private void closeQuietly(Socket s) {
        open.remove(s);
        try {
            s.close();
        } catch (IOException ignored) {
            // closing
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
        open.forEach(this::closeQuietly);
    }
}
