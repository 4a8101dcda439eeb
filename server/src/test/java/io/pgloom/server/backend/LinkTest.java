package io.pgloom.server.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.config.PoolMode;
import io.pgloom.server.control.Pooler;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.server.net.Transport;
import io.pgloom.server.pool.Pool;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The release/count decision of {@link Link}, driven by hand: the test thread plays both the
 * client's thread (count) and the server's reader thread (ready, lose), in the orders a race can
 * produce. The server is a real {@link ServerConnection} logged into a {@link StubServer}, which
 * no test sends a query to, so it stays silent and its reader thread never calls the Link itself.
 */
class LinkTest {
    private StubServer stub;
    private Pooler pooler;
    private Pool pool;
    private Socket clientSocket;
    private Link link;
    private ServerConnection server;

    @BeforeEach
    void setUp(@TempDir Path dir) throws Exception {
        stub = new StubServer();
        pooler = stub.pooler(dir, "");
        pool = pooler.pool(pooler.database("app").orElseThrow(), "alice");
        clientSocket = new Socket(InetAddress.getLoopbackAddress(), stub.port());
        link = new Link(new ClientSession(pooler, new Transport.Tcp(clientSocket)));
        server = pool.acquire(null);
    }

    @AfterEach
    void tearDown() throws Exception {
        link.lose(server);
        server.close("test over");
        clientSocket.close();
        pooler.close();
        stub.close();
    }

    @Test
    void aRequestCountedBeforeTheReadyForQueryKeepsTheServer() {
        link.attach(server, 'Q', true, System.nanoTime());
        assertSame(server, link.countOnHeld('Q', true));
        assertEquals(Link.AfterReady.STAY, link.ready(server, 'I', PoolMode.TRANSACTION), "one request still pending");
        assertSame(link, server.link());
        assertTrue(link.queryStartNanos() != 0, "the second query runs");
        assertEquals(Link.AfterReady.RELEASE, link.ready(server, 'I', PoolMode.TRANSACTION));
        assertNull(server.link());
        assertFalse(link.isLinked());
        assertEquals(0, link.queryStartNanos());
    }

    @Test
    void aReleaseDecidedFirstMakesTheClientTakeAServerAnew() {
        link.attach(server, 'Q', true, System.nanoTime());
        assertEquals(Link.AfterReady.RELEASE, link.ready(server, 'I', PoolMode.TRANSACTION));
        assertNull(link.countOnHeld('Q', true), "no server held: the client must acquire one");
        assertFalse(link.holds(server));
    }

    @Test
    void anOpenBatchOrTransactionOrSessionModeKeepsTheServer() {
        link.attach(server, 'Q', true, System.nanoTime());
        link.countOnHeld('P', false);
        assertEquals(Link.AfterReady.STAY, link.ready(server, 'I', PoolMode.TRANSACTION), "Parse sent, Sync not yet");
        link.countOnHeld('S', true);
        assertEquals(Link.AfterReady.STAY, link.ready(server, 'T', PoolMode.TRANSACTION), "in a transaction");
        link.countOnHeld('Q', true);
        assertEquals(Link.AfterReady.STAY, link.ready(server, 'I', PoolMode.SESSION), "session mode never releases");
        link.countOnHeld('H', false);
        link.countOnHeld('Q', true);
        assertEquals(Link.AfterReady.RELEASE, link.ready(server, 'I', PoolMode.TRANSACTION), "Flush opens no batch");
    }

    @Test
    void aTransactionLeftOpenInStatementModeUnlinksForClosing() {
        link.attach(server, 'Q', true, System.nanoTime());
        assertEquals(Link.AfterReady.STATEMENT_MODE_VIOLATION, link.ready(server, 'T', PoolMode.STATEMENT));
        assertNull(server.link());
    }

    @Test
    void aLostServerReportsItsUnansweredRequestsOnce() {
        link.attach(server, 'Q', true, System.nanoTime());
        link.countOnHeld('Q', true);
        assertEquals(new Link.Lost(2, false), link.lose(server));
        assertNull(link.lose(server), "already unlinked");
        assertNull(server.link());
    }

    @Test
    void aLostServerInsideATransactionSaysSo() {
        link.attach(server, 'Q', true, System.nanoTime());
        link.ready(server, 'T', PoolMode.TRANSACTION);
        assertEquals(new Link.Lost(0, true), link.lose(server));
    }

    @Test
    void theNextServerStartsANewTransactionAfterALoss() {
        long before = pool.stats.transactions.sum();
        link.attach(server, 'Q', true, System.nanoTime());
        link.ready(server, 'T', PoolMode.TRANSACTION);
        link.lose(server);
        link.attach(server, 'Q', true, System.nanoTime());
        assertEquals(before + 2, pool.stats.transactions.sum(), "xact_count counts the transaction on the next server");
    }

    @Test
    void aCancelGoesOnlyWhileARequestRuns() {
        link.attach(server, 'P', false, System.nanoTime());
        assertNull(link.serverToCancel(), "nothing pending");
        link.countOnHeld('S', true);
        assertSame(server, link.serverToCancel());
        assertEquals(1, server.cancelsInFlight.get());
        server.cancelsInFlight.decrementAndGet();
    }
}
