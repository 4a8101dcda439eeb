package io.pgloom.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The seam pgloom's own carriers plug into: every scope makes its threads with the factory
 * {@link VirtualThreads} holds when it opens. Here a factory that remembers what it made stands in
 * for the carriers.
 */
class VirtualThreadsTest {
    private final Set<Thread> made = ConcurrentHashMap.newKeySet();
    private final ThreadFactory remembering = r -> {
        Thread t = Thread.ofVirtual().unstarted(r);
        made.add(t);
        return t;
    };

    @AfterEach
    void restore() {
        VirtualThreads.useJdkDefault();
    }

    @Test
    void aTaskScopeForksItsOwnerAndItsTasksWithTheFactoryItOpenedWith() throws Exception {
        VirtualThreads.use(remembering);
        AtomicReference<Thread> ranOn = new AtomicReference<>();
        CountDownLatch ran = new CountDownLatch(1);
        try (TaskScope scope = new TaskScope("vt-test")) {
            VirtualThreads.useJdkDefault(); // an open scope keeps the factory it started with
            assertTrue(scope.start("vt-task", () -> {
                ranOn.set(Thread.currentThread());
                ran.countDown();
            }));
            assertTrue(ran.await(10, TimeUnit.SECONDS), "the task ran");
        }
        assertTrue(made.contains(ranOn.get()), "the task's thread came from the scope's factory");
        assertEquals("vt-task", ranOn.get().getName());
        assertTrue(made.stream().anyMatch(t -> t.getName().equals("vt-test-scope")), "so did the scope's owner");
    }

    @Test
    void aDeadlineScopeForksWithTheFactoryInUse() throws Exception {
        VirtualThreads.use(remembering);
        Callable<Thread> whoAmI = Thread::currentThread;
        Map<String, Thread> ran = DeadlineScope.callAll("vt-round", Map.of("a", whoAmI), Duration.ofSeconds(10));
        assertTrue(made.contains(ran.get("a")), "the round's task came from the factory");
    }

    @Test
    void withoutAFactoryGivenScopesMakeVirtualThreadsOnTheJdkScheduler() throws Exception {
        AtomicReference<Thread> ranOn = new AtomicReference<>();
        CountDownLatch ran = new CountDownLatch(1);
        try (TaskScope scope = new TaskScope("vt-default")) {
            scope.start("vt-default-task", () -> {
                ranOn.set(Thread.currentThread());
                ran.countDown();
            });
            assertTrue(ran.await(10, TimeUnit.SECONDS));
        }
        assertTrue(ranOn.get().isVirtual());
        assertTrue(made.isEmpty());
    }
}
