package io.pgloom.server;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.StructuredTaskScope.Joiner;
import java.util.concurrent.StructuredTaskScope;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One short round of parallel work with one deadline: fork a task per key, wait until all have
 * ended or the deadline passed, then cancel those still running and wait for them to end, so no
 * task outlives the round (a readiness probe of every host, later a failover health round). With
 * {@link TaskScope}, the only classes that touch the {@link StructuredTaskScope} preview API.
 *
 * <p>Threading: {@link #callAll} runs on the caller's thread, which owns the scope; each task
 * runs in its own virtual thread. Cancelling interrupts a task, which also closes the socket a
 * virtual thread is blocked on.
 */
public final class DeadlineScope {
    private static final Logger log = LoggerFactory.getLogger(DeadlineScope.class);

    private DeadlineScope() {
    }

    /**
     * Runs every task at once and returns the results of those that returned a value before
     * {@code timeout}. A task that was cancelled, or failed (logged), or returned null has no
     * entry. Each task's thread is named {@code name + " " + key}.
     *
     * @throws InterruptedException if the caller was interrupted while waiting (the tasks are
     *                              cancelled all the same)
     */
    public static <K, T> Map<K, T> callAll(String name, Map<K, ? extends Callable<? extends T>> tasks, Duration timeout)
            throws InterruptedException {
        Map<K, T> results = new ConcurrentHashMap<>();
        // Subtask results are unreadable after a timed-out join, so each task hands over its own.
        try (var scope = StructuredTaskScope.open(Joiner.<Object>awaitAll(), cf -> cf.withName(name).withTimeout(timeout)
                .withThreadFactory(VirtualThreads.factory()))) {
            tasks.forEach((key, task) -> scope.fork(() -> {
                Thread.currentThread().setName(name + " " + key);
                try {
                    T result = task.call();
                    if (result != null) {
                        results.put(key, result);
                    }
                } catch (InterruptedException e) {
                    // cancelled at the deadline: no result
                } catch (Exception | Error e) {
                    log.warn("{} {} failed", name, key, e);
                }
                return null;
            }));
            try {
                scope.join();
            } catch (StructuredTaskScope.TimeoutException late) {
                // The scope is cancelled: closing it below waits for the interrupted tasks.
            }
        }
        return Map.copyOf(results);
    }
}
