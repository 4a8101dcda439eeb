package io.pgloom.server.control;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A CancelRequest goes to this process's own client if one holds the key, else, when the key
 * carries another peer's id, to {@link ForeignCancels}, else nowhere, with a log line saying which.
 * The key layout is PgBouncer's: the peer id in bytes 1 and 2 of the process id, low byte first.
 */
class CancelRouterTest {
    private static final int OWN = 3;
    private static final int SECRET = 0x5eC12e7;

    /** What the local side was asked to cancel, as "pid/secret". */
    private final List<String> local = new ArrayList<>();
    private final List<String> foreign = new ArrayList<>();
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private final Logger poolerLog = (Logger) LoggerFactory.getLogger(Pooler.class);
    private int ownPeerId = OWN;

    @BeforeEach
    void captureLog() {
        logged.start();
        poolerLog.addAppender(logged);
    }

    @AfterEach
    void releaseLog() {
        poolerLog.detachAppender(logged);
    }

    private static int key(int peer, int sequence) {
        return CancelKeys.peeringPid(peer, sequence);
    }

    /** A router whose own clients hold exactly the key ({@code knownPid}, {@link #SECRET}). */
    private CancelRouter router(int knownPid) {
        return new CancelRouter(() -> ownPeerId, (pid, secret) -> {
            local.add(Integer.toHexString(pid) + "/" + secret);
            return pid == knownPid && secret == SECRET;
        });
    }

    private List<String> lines() {
        return logged.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Test
    void peerIdSitsInBytesOneAndTwoLowByteFirstAsInPgBouncer() {
        // PgBouncer: cancel_key[1] = peer_id & 0xFF, cancel_key[2] = peer_id >> 8; pid is bytes 0..3 big-endian.
        assertEquals(0x00341200, key(0x1234, 0));
        assertEquals(0x7F3412FF, key(0x1234, 0x7FFF));
        assertEquals(0x1234, CancelKeys.peerOf(key(0x1234, 0x5A5A)));
        assertEquals(65535, CancelKeys.peerOf(key(65535, 1)));
        assertTrue(key(65535, 0x7FFF) > 0, "bit 31 stays clear");
    }

    @Test
    void ownKeyGoesToTheLocalClient() {
        int pid = key(OWN, 42);
        CancelRouter r = router(pid);
        r.foreign((i, p, s) -> foreign.add(i + ":" + p));
        r.route(pid, SECRET);
        assertEquals(List.of(Integer.toHexString(pid) + "/" + SECRET), local);
        assertEquals(List.of(), foreign);
        assertEquals(List.of(), lines());
    }

    @Test
    void ownPeerButUnknownKeyIsIgnoredWithALogLine() {
        int pid = key(OWN, 43);
        CancelRouter r = router(key(OWN, 42));
        r.foreign((i, p, s) -> foreign.add(i + ":" + p));
        r.route(pid, SECRET);
        assertEquals(1, local.size());
        assertEquals(List.of(), foreign);
        assertEquals(List.of("cancel request for unknown client key " + Integer.toHexString(pid) + " ignored"), lines());
    }

    @Test
    void wrongSecretCountsAsUnknown() {
        int pid = key(OWN, 42);
        router(pid).route(pid, SECRET + 4);
        assertEquals(List.of("cancel request for unknown client key " + Integer.toHexString(pid) + " ignored"), lines());
    }

    @Test
    void otherPeersKeyGoesToTheHookWithItsPeerId() {
        int pid = key(7, 42);
        CancelRouter r = router(key(OWN, 42));
        List<int[]> calls = new ArrayList<>();
        r.foreign((i, p, s) -> calls.add(new int[] {i, p, s}));
        r.route(pid, SECRET);
        assertEquals(1, calls.size());
        assertEquals(7, calls.get(0)[0]);
        assertEquals(pid, calls.get(0)[1]);
        assertEquals(SECRET, calls.get(0)[2]);
        assertEquals(List.of(), lines());
    }

    @Test
    void aKeyHandedOutUnderAnEarlierPeerIdIsStillServedHere() {
        int pid = key(9, 42); // peer_id was 9 when this client came; a reload made it 3
        CancelRouter r = router(pid);
        r.foreign((i, p, s) -> foreign.add(i + ":" + p));
        r.route(pid, SECRET);
        assertEquals(List.of(Integer.toHexString(pid) + "/" + SECRET), local);
        assertEquals(List.of(), foreign);
    }

    @Test
    void withPeeringOffNothingIsForwarded() {
        ownPeerId = 0;
        int pid = key(7, 42);
        CancelRouter r = router(0);
        r.foreign((i, p, s) -> foreign.add(i + ":" + p));
        r.route(pid, SECRET);
        assertEquals(List.of(), foreign);
        assertEquals(List.of("cancel request for unknown client key " + Integer.toHexString(pid) + " ignored"), lines());
    }

    @Test
    void withoutAForwarderAnotherPeersKeyIsDroppedNamingThePeer() {
        int pid = key(8, 9);
        router(key(OWN, 9)).route(pid, SECRET);
        assertEquals(List.of("cancel request for client key " + Integer.toHexString(pid)
                + " of peer 8 ignored: nothing forwards cancels to other peers"), lines());
    }

    @Test
    void removingTheHookPutsTheDefaultBack() {
        CancelRouter r = router(0);
        r.foreign((i, p, s) -> foreign.add(i + ":" + p));
        r.foreign(null);
        r.route(key(8, 1), SECRET);
        assertEquals(List.of(), foreign);
        assertTrue(lines().getFirst().endsWith("of peer 8 ignored: nothing forwards cancels to other peers"), lines().toString());
    }

    @Test
    void aKeyWithBit31SetNamesNoPeerAndIsUnknown() {
        int pid = 0x80000001 | key(7, 1);
        CancelRouter r = router(key(OWN, 1));
        r.foreign((i, p, s) -> foreign.add(i + ":" + p));
        r.route(pid, SECRET);
        assertEquals(List.of(), foreign);
        assertEquals(List.of("cancel request for unknown client key " + Integer.toHexString(pid) + " ignored"), lines());
    }
}
