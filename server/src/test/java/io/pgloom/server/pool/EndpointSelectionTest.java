package io.pgloom.server.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.wire.backend.Endpoint;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The selectors (round-robin, sticky, least busy) and the server_login_retry windows of EndpointHealth, one per endpoint. */
class EndpointSelectionTest {
    private static final Endpoint A = new Endpoint("10.0.0.1", 5432);
    private static final Endpoint B = new Endpoint("10.0.0.2", 5432);
    private static final Endpoint C = new Endpoint("10.0.0.3", 5432);
    private static final List<Endpoint> ABC = List.of(A, B, C);
    private static final long RETRY = 15_000_000_000L;

    private static List<Endpoint> picks(EndpointSelector s, List<Endpoint> endpoints, EndpointHealth h, long now, int n) {
        List<Endpoint> got = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            got.add(s.next(endpoints, h, e -> 0, now));
        }
        return got;
    }

    @Test
    void withEveryHostUsableTheOrderIsThePlainCycle() {
        // The order the pool's former nextHost++ gave: host (i mod n) for the i-th connection.
        assertEquals(List.of(A, B, C, A, B, C, A), picks(new RoundRobinSelector(), ABC, new EndpointHealth(), 0, 7));
        assertEquals(List.of(A, A, A), picks(new RoundRobinSelector(), List.of(A), new EndpointHealth(), 0, 3));
    }

    @Test
    void leastBusyFillsTheEmptiestHostAndCyclesAmongEquals() {
        EndpointHealth h = new EndpointHealth();
        LeastBusySelector s = new LeastBusySelector();
        Map<Endpoint, Integer> open = new HashMap<>();
        List<Endpoint> got = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            Endpoint e = s.next(ABC, h, x -> open.getOrDefault(x, 0), 0);
            open.merge(e, 1, Integer::sum);
            got.add(e);
        }
        assertEquals(List.of(A, B, C, A, B, C), got, "from empty: the plain cycle");
        open.put(B, 0); // B came back with nothing
        assertEquals(List.of(B, B), picksCounting(s, ABC, h, open, 2), "B is filled first");
        assertEquals(Set.of(A, B, C), Set.copyOf(picksCounting(s, ABC, h, open, 3)), "then all take turns again");
        h.connectFailed(B, "b", RETRY);
        open.put(B, 0);
        assertEquals(List.of(A, C), picksCounting(s, List.of(A, B, C), h, open, 2).stream().sorted((x, y) -> x.host().compareTo(y.host())).toList(),
                "a host in its retry window is skipped, however empty");
        assertTrue(s.balances());
        assertFalse(new RoundRobinSelector().balances(), "PgBouncer's round-robin stays the plain turn");
    }

    private static List<Endpoint> picksCounting(EndpointSelector s, List<Endpoint> endpoints, EndpointHealth h,
            Map<Endpoint, Integer> open, int n) {
        List<Endpoint> got = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Endpoint e = s.next(endpoints, h, x -> open.getOrDefault(x, 0), 0);
            open.merge(e, 1, Integer::sum);
            got.add(e);
        }
        return got;
    }

    @Test
    void disableStaysOnTheFirstHostAndMovesOnlyWhenItFails() {
        // load_balance_hosts = disable; immutable lists, as Endpoint.of gives (they refuse indexOf(null)).
        EndpointHealth h = new EndpointHealth();
        StickySelector s = new StickySelector();
        assertEquals(List.of(A, A, A), picks(s, ABC, h, 0, 3));
        h.connectFailed(A, "connect to 10.0.0.1:5432 failed: server DNS lookup failed", RETRY);
        assertEquals(List.of(B, B), picks(s, ABC, h, 0, 2), "the next host, and it stays there");
        assertEquals(List.of(B, B), picks(s, ABC, h, RETRY, 2), "A's window ran out, but B still works: no move back");
        h.connectFailed(B, "b", 2 * RETRY);
        assertEquals(List.of(C, C), picks(s, ABC, h, RETRY, 2));
    }

    @Test
    void aHostInItsRetryWindowIsSkippedAndTakesItsTurnAgainAfterIt() {
        EndpointHealth h = new EndpointHealth();
        long now = 1_000;
        h.connectFailed(B, "connect to 10.0.0.2:5432 failed: Connection refused", now + RETRY);
        RoundRobinSelector s = new RoundRobinSelector();
        assertEquals(List.of(A, C, A, C), picks(s, ABC, h, now, 4));
        assertEquals(List.of(A, B, C), picks(s, ABC, h, now + RETRY, 3), "the window has run out");
    }

    @Test
    void whenEveryHostIsHeldBackTheOneWhoseTurnItIsIsReturned() {
        EndpointHealth h = new EndpointHealth();
        h.connectFailed(A, "a", 100);
        h.connectFailed(B, "b", 200);
        RoundRobinSelector s = new RoundRobinSelector();
        assertEquals(List.of(A, B, A), picks(s, List.of(A, B), h, 0, 3));
    }

    @Test
    void onlyTheFailedEndpointWaitsAndThePoolWaitsOnlyWhenAllDo() {
        EndpointHealth h = new EndpointHealth();
        assertFalse(h.allHeldBack(ABC, 0));
        assertEquals(0, h.triableFrom(ABC, 0));
        h.connectFailed(A, "a", 500);
        h.connectFailed(C, "c", 300);
        assertTrue(h.heldBack(A, 0));
        assertFalse(h.heldBack(B, 0));
        assertFalse(h.allHeldBack(ABC, 0), "B may still be tried");
        assertEquals(0, h.triableFrom(ABC, 0));
        h.connectFailed(B, "b", 400);
        assertTrue(h.allHeldBack(ABC, 0));
        assertEquals(300, h.triableFrom(ABC, 0), "C's window runs out first");
        assertFalse(h.allHeldBack(ABC, 300));
        assertTrue(h.allHeldBack(List.of(A, B), 300), "a pool of A and B still waits");
        assertEquals(400, h.triableFrom(List.of(A, B), 300));
    }

    @Test
    void oneHostBehavesAsThePoolWideRetryDid() {
        EndpointHealth h = new EndpointHealth();
        List<Endpoint> one = List.of(A);
        assertNull(h.lastFailure());
        h.connectFailed(A, "connect to 10.0.0.1:5432 failed: Connection refused", 1_000 + RETRY);
        assertTrue(h.allHeldBack(one, 1_000));
        assertEquals(1_000 + RETRY, h.triableFrom(one, 1_000));
        assertEquals("connect to 10.0.0.1:5432 failed: Connection refused", h.lastFailure());
        h.connected(A);
        assertNull(h.lastFailure(), "a login forgets the cached error");
        assertTrue(h.allHeldBack(one, 2_000), "but the window already started still runs out");
        assertFalse(h.allHeldBack(one, 1_000 + RETRY));
    }

    @Test
    void windowsCompareAcrossTheWrapOfNanoTime() {
        EndpointHealth h = new EndpointHealth();
        long now = Long.MAX_VALUE - 10;
        h.connectFailed(A, "a", now + RETRY); // overflows to a negative number
        assertTrue(h.heldBack(A, now));
        assertTrue(h.allHeldBack(List.of(A), now));
        assertFalse(h.heldBack(A, now + RETRY));
    }
}
