package io.pgloom.server.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.server.backend.ServerConnection.State;
import io.pgloom.server.backend.ServerConnection;
import io.pgloom.server.backend.StubServer;
import io.pgloom.server.control.Pooler;
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
 * and what SHOW SERVERS and the pool's counts make of each state. The server is a {@link StubServer},
 * which answers each simple query only when the test hands it a permit, so the states a check or a
 * reset passes through can be looked at while they last.
 */
class ServerLifeTest {
    private StubServer stub;
    private Semaphore answers;
    private Pooler pooler;
    private Pool pool;

    @BeforeEach
    void setUp(@TempDir Path dir) throws Exception {
        stub = new StubServer();
        answers = stub.answers;
        pooler = stub.pooler(dir, """
                server_check_delay = 0
                server_check_query = select 1
                server_reset_query = DISCARD ALL
                """);
        pool = pooler.pool(pooler.database("app").orElseThrow(), "alice");
    }

    @AfterEach
    void tearDown() throws Exception {
        pooler.close();
        stub.close();
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
        CompletableFuture<ServerConnection> taken = releaseAndTakeAgain(s);
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
        CompletableFuture<ServerConnection> taken = releaseAndTakeAgain(s);
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
        s.markCloseNeeded("RECONNECT");
        assertEquals(State.IDLE, s.state());
        assertTrue(pool.view(System.nanoTime(), System.currentTimeMillis()).servers().getFirst().closeNeeded());
        assertTrue(pool.hasCloseNeeded());
    }

    /** Releases {@code s}, then takes a server again on another thread, which checks {@code s} and waits for its answer. */
    private CompletableFuture<ServerConnection> releaseAndTakeAgain(ServerConnection s) throws InterruptedException {
        pool.release(s);
        CompletableFuture<ServerConnection> taken = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> {
            try {
                taken.complete(pool.acquire(null));
            } catch (Exception e) {
                taken.completeExceptionally(e);
            }
        });
        await(() -> s.state() == State.CHECKING);
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
