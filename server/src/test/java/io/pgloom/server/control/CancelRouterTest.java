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
 * A CancelRequest goes where its key's instance id points: this instance's client, another
 * instance through {@link ForeignCancels}, or nowhere, with a log line saying which.
 */
class CancelRouterTest {
    private static final int OWN = 3;
    private static final int SECRET = 0x5eC12e7;

    /** What the local side was asked to cancel, as "pid/secret". */
    private final List<String> local = new ArrayList<>();
    private final List<String> foreign = new ArrayList<>();
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private final Logger poolerLog = (Logger) LoggerFactory.getLogger(Pooler.class);

    @BeforeEach
    void captureLog() {
        logged.start();
        poolerLog.addAppender(logged);
    }

    @AfterEach
    void releaseLog() {
        poolerLog.detachAppender(logged);
    }

    private static int key(int instance, int sequence) {
        return (instance << CancelKeys.SEQUENCE_BITS) | sequence;
    }

    /** A router whose own clients hold exactly the key ({@code knownPid}, {@link #SECRET}). */
    private CancelRouter router(int knownPid) {
        return new CancelRouter(OWN, (pid, secret) -> {
            local.add(Integer.toHexString(pid) + "/" + secret);
            return pid == knownPid && secret == SECRET;
        });
    }

    private List<String> lines() {
        return logged.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Test
    void instanceOfReadsBits30To22() {
        assertEquals(OWN, CancelKeys.instanceOf(key(OWN, 1)));
        assertEquals(511, CancelKeys.instanceOf(key(511, (1 << CancelKeys.SEQUENCE_BITS) - 1)));
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
    void ownInstanceButUnknownKeyIsIgnoredWithALogLine() {
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
        router(pid).route(pid, SECRET + 1);
        assertEquals(List.of("cancel request for unknown client key " + Integer.toHexString(pid) + " ignored"), lines());
    }

    @Test
    void foreignKeyGoesToTheHookWithItsInstance() {
        int pid = key(7, 42);
        CancelRouter r = router(key(OWN, 42));
        List<int[]> calls = new ArrayList<>();
        r.foreign((i, p, s) -> calls.add(new int[] {i, p, s}));
        r.route(pid, SECRET);
        assertEquals(1, calls.size());
        assertEquals(7, calls.get(0)[0]);
        assertEquals(pid, calls.get(0)[1]);
        assertEquals(SECRET, calls.get(0)[2]);
        assertEquals(List.of(), local, "a foreign key must not reach a local client");
        assertEquals(List.of(), lines());
    }

    @Test
    void withoutAClusterAForeignKeyIsDroppedNamingItsInstance() {
        int pid = key(0, 9);
        router(key(OWN, 9)).route(pid, SECRET);
        assertEquals(List.of(), local);
        assertEquals(List.of("cancel request for client key " + Integer.toHexString(pid) + " of instance 0 ignored: no cluster"),
                lines());
    }

    @Test
    void removingTheHookPutsTheDefaultBack() {
        CancelRouter r = router(0);
        r.foreign((i, p, s) -> foreign.add(i + ":" + p));
        r.foreign(null);
        r.route(key(8, 1), SECRET);
        assertEquals(List.of(), foreign);
        assertTrue(lines().getFirst().endsWith("of instance 8 ignored: no cluster"), lines().toString());
    }

    @Test
    void aKeyWithBit31SetNamesNoInstanceAndIsUnknown() {
        int pid = 0x80000001;
        CancelRouter r = router(key(OWN, 1));
        r.foreign((i, p, s) -> foreign.add(i + ":" + p));
        r.route(pid, SECRET);
        assertEquals(List.of(), foreign);
        assertEquals(List.of("cancel request for unknown client key 80000001 ignored"), lines());
    }
}
