package io.pgloom.server.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.config.ConfigLoader;
import io.pgloom.config.UserList;
import io.pgloom.server.backend.ServerConnection;
import io.pgloom.server.backend.ServerConnection.State;
import io.pgloom.server.control.Pooler;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A server connection's moves through {@link ServerConnection.State}, driven through its pool,
 * and what SHOW SERVERS and the pool's counts make of each state. The server is a stub that logs
 * anyone in and answers each simple query with ReadyForQuery only when the test hands it a permit,
 * so the states a check or a reset passes through can be looked at while they last.
 */
class ServerLifeTest {
    private ServerSocket stub;
    private final Semaphore answers = new Semaphore(0);
    private Pooler pooler;
    private Pool pool;

    @BeforeEach
    void setUp(@TempDir Path dir) throws Exception {
        stub = new ServerSocket(0, 16, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(this::serveStub);
        Files.writeString(dir.resolve("userlist.txt"), "\"alice\" \"secret\"\n");
        Path ini = dir.resolve("pgbouncer.ini");
        Files.writeString(ini, """
                [databases]
                app = host=127.0.0.1 port=%d dbname=app
                [pgbouncer]
                listen_port = 0
                auth_file = userlist.txt
                pool_mode = transaction
                server_check_delay = 0
                server_check_query = select 1
                server_reset_query = DISCARD ALL
                """.formatted(stub.getLocalPort()));
        pooler = new Pooler(ConfigLoader.load(ini), UserList.load(dir.resolve("userlist.txt")), true, 0);
        pool = pooler.pool(pooler.database("app").orElseThrow(), "alice");
    }

    @AfterEach
    void tearDown() throws Exception {
        answers.release(100);
        pooler.close();
        stub.close();
    }

    /** Logs each connection in, then answers every simple query ('Q') with ReadyForQuery, one permit each. */
    private void serveStub() {
        while (!stub.isClosed()) {
            try {
                Socket s = stub.accept();
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

    @Test
    void aNewServerIsActiveAndAReleasedOneIdle() throws Exception {
        ServerConnection s = pool.acquire(null);
        assertEquals(State.ACTIVE, s.state(), "a new server is never checked");
        assertEquals("active", shown(s));
        pool.release(s);
        assertEquals(State.IDLE, s.state());
        assertEquals("used", shown(s), "idle past server_check_delay (0)");
        assertEquals(1, pool.counts().idle());
    }

    @Test
    void aServerDueACheckIsTestedUntilItAnswersThenHandedOut() throws Exception {
        ServerConnection s = pool.acquire(null);
        pool.release(s);
        CompletableFuture<ServerConnection> taken = takeInBackground();
        await(() -> s.state() == State.CHECKING);
        assertEquals("tested", shown(s));
        assertEquals(1, pool.counts().checking());
        answers.release();
        assertSame(s, taken.get(5, TimeUnit.SECONDS));
        assertEquals(State.ACTIVE, s.state());
        assertEquals(0, pool.counts().checking());
    }

    @Test
    void aServerClosedUnderCheckGivesItsSlotToItsReplacement() throws Exception {
        ServerConnection s = pool.acquire(null);
        pool.release(s);
        CompletableFuture<ServerConnection> taken = takeInBackground();
        await(() -> s.state() == State.CHECKING);
        s.close("test");
        ServerConnection replacement = taken.get(5, TimeUnit.SECONDS);
        assertNotSame(s, replacement);
        assertEquals(State.CLOSED, s.state());
        assertEquals(List.of(replacement), pool.servers(), "the checker, not discard, settled the closed server's slot");
        assertEquals(0, pool.counts().checking());
    }

    @Test
    void theResetRunsBeforeTheServerJoinsTheIdleList() throws Exception {
        ServerConnection s = pool.acquire(null);
        s.giveBack(true);
        assertEquals(State.RESETTING, s.state());
        assertEquals("tested", shown(s));
        answers.release();
        await(() -> s.state() == State.IDLE);
        assertEquals(1, pool.counts().idle());
    }

    @Test
    void aCloseRacingAReleaseWins() throws Exception {
        ServerConnection s = pool.acquire(null);
        s.close("test");
        pool.release(s);
        assertEquals(State.CLOSED, s.state());
        assertFalse(s.enterIdle(), "no move undoes a close");
        assertEquals(0, pool.counts().idle());
    }

    @Test
    void closeNeededMarksAServerWithoutMovingIt() throws Exception {
        ServerConnection s = pool.acquire(null);
        pool.release(s);
        s.markCloseNeeded();
        assertEquals(State.IDLE, s.state());
        assertTrue(pool.view(System.nanoTime(), System.currentTimeMillis()).servers().getFirst().closeNeeded());
        assertTrue(pool.hasCloseNeeded());
    }

    private CompletableFuture<ServerConnection> takeInBackground() {
        CompletableFuture<ServerConnection> taken = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                taken.complete(pool.acquire(null));
            } catch (Exception e) {
                taken.completeExceptionally(e);
            }
        });
        return taken;
    }

    /** SHOW SERVERS' state word for {@code s}. */
    private String shown(ServerConnection s) {
        return pool.view(System.nanoTime(), System.currentTimeMillis()).servers().stream()
                .filter(v -> v.id() == s.id).findFirst().orElseThrow().state();
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!condition.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out");
            Thread.sleep(5);
        }
    }
}
