package io.pgloom.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A round of tasks with one deadline: results of the quick, the slow cancelled and ended before the round returns. */
class DeadlineScopeTest {

    @Test
    void returnsWhatFinishedInTimeAndEndsTheRest() throws Exception {
        CountDownLatch slowEnded = new CountDownLatch(1);
        Map<String, Callable<String>> tasks = new LinkedHashMap<>();
        tasks.put("quick", () -> "done " + Thread.currentThread().getName());
        tasks.put("nothing", () -> null);
        tasks.put("failing", () -> {
            throw new IllegalStateException("expected by the test");
        });
        tasks.put("slow", () -> {
            try {
                Thread.sleep(Duration.ofMinutes(1));
                return "too late";
            } finally {
                slowEnded.countDown();
            }
        });
        long start = System.nanoTime();
        Map<String, String> results = DeadlineScope.callAll("round", tasks, Duration.ofMillis(300));
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertEquals(Map.of("quick", "done round quick"), results);
        assertEquals(0, slowEnded.getCount(), "the slow task ended before the round returned");
        assertTrue(tookMillis >= 250 && tookMillis < 10_000, "took " + tookMillis + " ms");
    }

    @Test
    void returnsAsSoonAsAllHaveEnded() throws Exception {
        long start = System.nanoTime();
        Map<Integer, Integer> results = DeadlineScope.callAll("round", Map.of(1, () -> 1, 2, () -> 2), Duration.ofMinutes(1));
        assertEquals(Map.of(1, 1, 2, 2), results);
        assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10));
    }
}
