package io.pgloom.server.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** A connection's age as the "closing because" lines write it: seconds and three digits of milliseconds. */
class ConnectionAgeTest {
    @Test
    void secondsWithThreeDigitsOfMilliseconds() {
        assertEquals("0.000s", ClientSession.age(0));
        assertEquals("0.007s", ClientSession.age(7));
        assertEquals("0.042s", ClientSession.age(42));
        assertEquals("1.000s", ClientSession.age(1000));
        assertEquals("12.345s", ClientSession.age(12_345));
        assertEquals("86400.999s", ClientSession.age(86_400_999));
        assertEquals("0.000s", ClientSession.age(-5), "a clock step backwards is no negative age");
    }
}
