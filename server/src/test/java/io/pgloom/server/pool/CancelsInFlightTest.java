package io.pgloom.server.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A release waits for the cancels sent to its backend; the last one to finish wakes it. */
class CancelsInFlightTest {

    @Test
    void noneInFlightReturnsAtOnce() throws Exception {
        assertTrue(new CancelsInFlight().awaitNone(0));
    }

    @Test
    void theLastCancelToFinishWakesTheWaiter() throws Exception {
        CancelsInFlight c = new CancelsInFlight();
        assertEquals(1, c.incrementAndGet());
        assertEquals(2, c.incrementAndGet());
        Thread.ofVirtual().start(() -> {
            sleep(50);
            c.decrementAndGet();
            sleep(50);
            c.decrementAndGet();
        });
        long start = System.nanoTime();
        assertTrue(c.awaitNone(TimeUnit.SECONDS.toNanos(30)));
        assertEquals(0, c.get());
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "woken, not timed out");
    }

    @Test
    void givesUpAfterTheLimit() throws Exception {
        CancelsInFlight c = new CancelsInFlight();
        c.incrementAndGet();
        long start = System.nanoTime();
        assertFalse(c.awaitNone(TimeUnit.MILLISECONDS.toNanos(100)));
        assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(100));
        assertEquals(1, c.get());
    }

    @Test
    void anInterruptEndsTheWait() {
        CancelsInFlight c = new CancelsInFlight();
        c.incrementAndGet();
        Thread.currentThread().interrupt();
        assertThrows(InterruptedException.class, () -> c.awaitNone(TimeUnit.SECONDS.toNanos(30)));
        assertFalse(Thread.interrupted(), "the interrupt status is consumed by the exception");
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
