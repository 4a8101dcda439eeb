package io.pgloom.server.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** max_db_connections / max_user_connections counted in this process. */
class LocalConnectionBudgetTest {

    @Test
    void takesUpToTheLimitThenRefusesUntilASlotComesBack() {
        ConnectionBudget b = new LocalConnectionBudget(2);
        assertTrue(b.tryTake());
        assertTrue(b.tryTake());
        assertFalse(b.tryTake(), "the third slot is over the limit");
        assertEquals(2, b.used(), "a refusal takes nothing");
        b.giveBack();
        assertEquals(1, b.used());
        assertTrue(b.tryTake(), "a slot given back can be taken again");
    }

    @Test
    void zeroMeansNoLimit() {
        ConnectionBudget b = new LocalConnectionBudget(0);
        for (int i = 0; i < 1000; i++) {
            assertTrue(b.tryTake());
        }
        assertEquals(1000, b.used());
        assertEquals(0, b.limit());
    }

    @Test
    void aLoweredLimitRefusesNewSlotsButKeepsThoseTaken() {
        ConnectionBudget b = new LocalConnectionBudget(3);
        b.tryTake();
        b.tryTake();
        b.setLimit(1);
        assertEquals(1, b.limit());
        assertFalse(b.tryTake());
        assertEquals(2, b.used(), "a reload never takes slots away");
        b.giveBack();
        assertFalse(b.tryTake(), "still at the new limit");
        b.giveBack();
        assertTrue(b.tryTake());
    }

    @Test
    void concurrentTakersNeverExceedTheLimit() throws Exception {
        ConnectionBudget b = new LocalConnectionBudget(7);
        AtomicInteger granted = new AtomicInteger();
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            threads.add(Thread.ofPlatform().start(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int j = 0; j < 100; j++) {
                    if (b.tryTake()) {
                        granted.incrementAndGet();
                    }
                }
            }));
        }
        go.countDown();
        for (Thread t : threads) {
            t.join(10_000);
        }
        assertEquals(7, granted.get());
        assertEquals(7, b.used());
    }
}
