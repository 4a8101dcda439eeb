package io.pgloom.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class IoSetupTest {
    @Test
    void autoCarrierCountIsOnePerTwoProcessorsAndAtLeastOne() {
        assertEquals(1, IoSetup.autoThreads(1));
        assertEquals(1, IoSetup.autoThreads(2));
        assertEquals(1, IoSetup.autoThreads(3));
        assertEquals(2, IoSetup.autoThreads(4));
        assertEquals(8, IoSetup.autoThreads(16));
    }
}
