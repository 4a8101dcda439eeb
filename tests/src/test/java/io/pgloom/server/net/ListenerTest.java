package io.pgloom.server.net;

import io.pgloom.config.ConfigLoader;
import io.pgloom.config.UserList;
import io.pgloom.server.control.Pooler;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.tests.Pgloom;
import io.pgloom.tests.RawClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The acceptor outlives a client whose session cannot start. Nothing a client can send makes
 * {@code new ClientSession} fail (it only wraps the socket's streams; the real case was an
 * OutOfMemoryError under load), so the test hands the {@link Listener} a session factory that
 * fails for the first clients. It sits in the server's package to reach that package-private
 * constructor, and in the tests module for the shared PostgreSQL and the test clients.
 */
class ListenerTest {

    @Test
    void aClientWhoseSessionCannotStartIsDroppedAndLaterClientsAreServed(@TempDir Path dir) throws Exception {
        Path ini = Pgloom.writeConfig(dir, Pgloom.iniText("transaction", "", ""), Pgloom.defaultUserlist());
        var config = ConfigLoader.load(ini);
        var users = UserList.load(dir.resolve("userlist.txt"));
        Queue<Throwable> failures = new ConcurrentLinkedQueue<>(List.of(
                new IOException("simulated: socket unusable"),
                new IllegalStateException("simulated: a bug in session setup"),
                new OutOfMemoryError("simulated: no memory for the session's buffers")));
        try (Pooler pooler = new Pooler(config, users, true, 0);
                Listener listener = new Listener("127.0.0.1", 0, 128, socket -> {
                    Throwable failure = failures.poll();
                    return switch (failure) {
                        case null -> new ClientSession(pooler, socket);
                        case IOException e -> throw e;
                        case RuntimeException e -> throw e;
                        case Error e -> throw e;
                        default -> throw new AssertionError(failure);
                    };
                })) {
            listener.start();
            for (int i = 0; i < 3; i++) {
                try (RawClient dropped = new RawClient(listener.port())) {
                    assertTrue(dropped.closedByPeer(), "client " + i + " is closed, not left hanging");
                }
            }
            assertTrue(failures.isEmpty(), "each of the three clients met its failure");

            try (RawClient c = new RawClient(listener.port()).login("alice", "alice-secret", "app")) {
                assertEquals("7", RawClient.firstValue(c.simpleQuery("SELECT 3 + 4")));
            }
            try (Connection c = Pgloom.connect(listener.port(), "app", "bob", "bob-secret");
                    Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT current_user")) {
                assertTrue(rs.next());
                assertEquals("bob", rs.getString(1));
            }
        }
    }

    /**
     * Over the Unix socket, the connection login sees names the OS user of the process at the
     * other end (SO_PEERCRED): here this very process, whose user owns the files it creates.
     */
    @Test
    void aUnixClientsConnectionInfoCarriesItsPeerCredentials(@TempDir Path dir) throws Exception {
        Path ini = Pgloom.writeConfig(dir, Pgloom.iniText("transaction", "", ""), Pgloom.defaultUserlist());
        var config = ConfigLoader.load(ini);
        var users = UserList.load(dir.resolve("userlist.txt"));
        Queue<Transport> accepted = new ConcurrentLinkedQueue<>();
        Path socketDir = Files.createDirectory(dir.resolve("socket"));
        try (Pooler pooler = new Pooler(config, users, true, 0);
                Listener listener = new Listener(UnixSocket.bind(socketDir, 6432, 0700, "", 16), transport -> {
                    accepted.add(transport);
                    return new ClientSession(pooler, transport);
                })) {
            listener.start();
            try (RawClient c = new RawClient(UnixSocket.file(socketDir, 6432)).login("alice", "alice-secret", "app")) {
                assertEquals("7", RawClient.firstValue(c.simpleQuery("SELECT 3 + 4")));
                ConnectionInfo info = accepted.remove().info();
                assertTrue(info.isUnix());
                assertEquals(6432, info.port());
                assumeTrue(info.peerCredentials() != null, "this platform has no SO_PEERCRED");
                assertEquals(Files.getOwner(ini).getName(), info.peerCredentials().user().getName());
            }
        }
    }
}
