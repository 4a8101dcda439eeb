package io.pgloom.server.backend;

import io.pgloom.config.ConfigLoader;
import io.pgloom.config.UserList;
import io.pgloom.server.control.Pooler;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Semaphore;

/**
 * A stand-in PostgreSQL for unit tests that need real server connections but no real server: it
 * logs anyone in (AuthenticationOk, BackendKeyData, ReadyForQuery), then answers each simple
 * query with a ReadyForQuery, one for each permit the test hands out in {@link #answers}, and
 * otherwise stays silent. Each connection is served on its own virtual thread.
 */
public final class StubServer implements AutoCloseable {
    /** One permit per simple query the stub may answer. */
    public final Semaphore answers = new Semaphore(0);
    private final ServerSocket socket;

    public StubServer() throws IOException {
        socket = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(this::serve);
    }

    public int port() {
        return socket.getLocalPort();
    }

    /**
     * A pooler whose database {@code app} is this stub, user {@code alice} in auth_file, in
     * transaction mode, with {@code settings} (lines of the [pgbouncer] section) added.
     */
    public Pooler pooler(Path dir, String settings) throws Exception {
        Files.writeString(dir.resolve("userlist.txt"), "\"alice\" \"secret\"\n");
        Path ini = dir.resolve("pgbouncer.ini");
        Files.writeString(ini, """
                [databases]
                app = host=127.0.0.1 port=%d dbname=app
                [pgbouncer]
                listen_port = 0
                auth_file = userlist.txt
                pool_mode = transaction
                """.formatted(port()) + settings);
        return new Pooler(ConfigLoader.load(ini), UserList.load(dir.resolve("userlist.txt")), true, 0);
    }

    private void serve() {
        while (!socket.isClosed()) {
            try {
                Socket s = socket.accept();
                Thread.ofVirtual().start(() -> converse(s));
            } catch (IOException e) {
                return;
            }
        }
    }

    private void converse(Socket s) {
        try (s) {
            DataInputStream in = new DataInputStream(s.getInputStream());
            OutputStream out = s.getOutputStream();
            in.readFully(new byte[in.readInt() - 4]); // the startup packet
            out.write(new byte[] {'R', 0, 0, 0, 8, 0, 0, 0, 0, 'K', 0, 0, 0, 12, 0, 0, 0, 1, 0, 0, 0, 2, 'Z', 0, 0, 0, 5, 'I'});
            out.flush();
            while (true) {
                int type = in.read();
                if (type < 0 || type == 'X') {
                    return;
                }
                in.readFully(new byte[in.readInt() - 4]);
                if (type == 'Q') {
                    answers.acquire();
                    out.write(new byte[] {'Z', 0, 0, 0, 5, 'I'});
                    out.flush();
                }
            }
        } catch (IOException | InterruptedException e) {
            // the test ended the connection
        }
    }

    /** Stops accepting, and lets every query waiting for a permit be answered. */
    @Override
    public void close() throws IOException {
        answers.release(Integer.MAX_VALUE / 2);
        socket.close();
    }
}
