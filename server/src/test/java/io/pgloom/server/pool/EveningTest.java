package io.pgloom.server.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgloom.wire.backend.Endpoint;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which connections a balancing pool sheds when a host joins its suitable hosts. */
class EveningTest {
    private static final Endpoint PRIMARY = new Endpoint("pg1", 5432);
    private static final Endpoint S1 = new Endpoint("pg2", 5432);
    private static final Endpoint S2 = new Endpoint("pg3", 5432);

    /** A pool's connection: where it goes, whether it is idle. */
    record Conn(String name, Endpoint host, boolean idle) {}

    static List<Conn> conns(Endpoint host, int idle, int busy) {
        List<Conn> list = new ArrayList<>();
        for (int i = 0; i < busy; i++) {
            list.add(new Conn(host.host() + "-busy" + i, host, false));
        }
        for (int i = 0; i < idle; i++) {
            list.add(new Conn(host.host() + "-idle" + i, host, true));
        }
        return list;
    }

    static List<Conn> shed(List<Conn> pool, List<Endpoint> fit, Endpoint joined) {
        return Evening.toShed(pool, Conn::host, Conn::idle, fit, joined);
    }

    @Test
    void aReturningStandbyGetsHalfOfTwoHostsIdleOnesGoFirst() {
        List<Conn> pool = conns(S1, 3, 5); // 8 on S1, none on S2
        List<Conn> shed = shed(pool, List.of(S1, S2), S2);
        assertEquals(4, shed.size());
        assertEquals(List.of("pg2-idle0", "pg2-idle1", "pg2-idle2", "pg2-busy0"), shed.stream().map(Conn::name).toList());
    }

    @Test
    void anOddCountLeavesTheBusierHostItsShareRoundedUp() {
        assertEquals(2, shed(conns(S1, 5, 0), List.of(S1, S2), S2).size(), "5 over 2: S1 keeps 3");
        assertEquals(1, shed(conns(S1, 3, 0), List.of(S1, S2), S2).size(), "3 over 2: S1 keeps 2");
        assertEquals(0, shed(conns(S1, 1, 0), List.of(S1, S2), S2).size(), "1 over 2: nothing to move");
    }

    @Test
    void thePrimaryAPreferStandbyPoolFellBackToKeepsNothing() {
        List<Conn> shed = shed(conns(PRIMARY, 2, 2), List.of(S1), S1);
        assertEquals(4, shed.size());
    }

    @Test
    void aBalancedPoolOrAHostThatDoesNotSuitShedsNothing() {
        List<Conn> even = new ArrayList<>(conns(S1, 2, 0));
        even.addAll(conns(S2, 2, 0));
        assertEquals(List.of(), shed(even, List.of(S1, S2), S2));
        List<Conn> uneven = new ArrayList<>(conns(S1, 3, 0));
        uneven.addAll(conns(S2, 2, 0));
        assertEquals(List.of(), shed(uneven, List.of(S1, S2), S2), "S2 holds its share rounded down");
        assertEquals(List.of(), shed(conns(S1, 4, 0), List.of(S1), S2), "S2 is not a candidate");
        assertEquals(List.of(), shed(List.of(), List.of(S1, S2), S2));
    }

    @Test
    void threeHostsEachKeepAThird() {
        List<Conn> pool = new ArrayList<>(conns(S1, 6, 0));
        pool.addAll(conns(PRIMARY, 3, 0));
        List<Conn> shed = shed(pool, List.of(PRIMARY, S1, S2), S2);
        assertEquals(3, shed.size());
        assertEquals(List.of(S1, S1, S1), shed.stream().map(Conn::host).toList());
    }
}
