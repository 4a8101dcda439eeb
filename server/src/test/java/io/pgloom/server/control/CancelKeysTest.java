package io.pgloom.server.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.server.backend.StubServer;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.server.net.Transport;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The keys CancelKeys hands out, with and without a peer id, and how a CancelRequest finds its client. */
class CancelKeysTest {
    private StubServer stub;
    private Pooler pooler;
    private final Set<Socket> sockets = new HashSet<>();

    @BeforeEach
    void setUp(@TempDir Path dir) throws Exception {
        stub = new StubServer();
        pooler = stub.pooler(dir, "");
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Socket s : sockets) {
            s.close();
        }
        pooler.close();
        stub.close();
    }

    private ClientSession client() throws Exception {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), stub.port());
        sockets.add(s);
        return new ClientSession(pooler, new Transport.Tcp(s));
    }

    /** A new client that {@code keys} gave a key to. */
    private ClientSession keyed(CancelKeys keys) throws Exception {
        ClientSession c = client();
        assertTrue(keys.assign(c));
        return c;
    }

    @Test
    void aPeersKeysCarryItsIdAndATtlOfThree() throws Exception {
        CancelKeys keys = new CancelKeys(0x1234);
        Set<Integer> pids = new HashSet<>();
        for (int i = 0; i < 3; i++) {
            ClientSession c = keyed(keys);
            assertEquals(0x1234, CancelKeys.peerOf(c.cancelPid()));
            assertTrue(c.cancelPid() > 0);
            assertEquals(3, c.cancelSecret() & CancelKeys.TTL_MASK);
            pids.add(c.cancelPid());
        }
        assertEquals(3, pids.size(), "every live client has its own pid");
    }

    @Test
    void aForwardedKeyIsFoundWhateverItsTtlButNoOtherBitMayDiffer() throws Exception {
        CancelKeys keys = new CancelKeys(7);
        ClientSession c = keyed(keys);
        assertSame(c, keys.find(c.cancelPid(), c.cancelSecret()));
        assertSame(c, keys.find(c.cancelPid(), c.cancelSecret() - 2), "a TTL decremented by two forwards");
        assertNull(keys.find(c.cancelPid(), c.cancelSecret() ^ 4));
        assertNull(keys.find(c.cancelPid() + 1, c.cancelSecret()));
    }

    @Test
    void withoutAPeerIdAllThirtyTwoSecretBitsCount() throws Exception {
        CancelKeys keys = new CancelKeys(0);
        ClientSession c = keyed(keys);
        assertEquals(1, c.cancelPid(), "a plain sequence: no peer id in it");
        assertSame(c, keys.find(c.cancelPid(), c.cancelSecret()));
        assertNull(keys.find(c.cancelPid(), c.cancelSecret() ^ 1));
    }

    @Test
    void aPeerIdLeavesRoomFor32767LiveKeysAndSaysNoToTheNext() throws Exception {
        CancelKeys keys = new CancelKeys(2);
        ClientSession c = client();
        for (int i = 0; i < 32767; i++) {
            assertTrue(keys.assign(c), "key " + i);
        }
        assertEquals(32767, keys.size());
        assertFalse(keys.assign(c));
        assertEquals(0, c.cancelPid(), "a client refused a key holds none");
    }

    @Test
    void forgettingAClientFreesItsPidButNotAnotherClientsEntry() throws Exception {
        CancelKeys keys = new CancelKeys(0);
        ClientSession a = keyed(keys);
        int pid = a.cancelPid();
        keys.forget(a);
        assertNull(keys.find(pid, a.cancelSecret()));
        assertEquals(0, keys.size());
        ClientSession b = keyed(keys);
        assertNotEquals(pid, b.cancelPid(), "the sequence moves on");
    }

    @Test
    void aPeerIdOutsideSixteenBitsTurnsPeeringOff() {
        assertEquals(0, new CancelKeys(65536).peerId());
        assertEquals(65535, new CancelKeys(65535).peerId());
    }
}
