package io.pgloom.server;

import java.util.concurrent.Callable;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.StructuredTaskScope.Joiner;
import java.util.concurrent.StructuredTaskScope.Subtask;
import java.util.concurrent.StructuredTaskScope;
import java.util.concurrent.ThreadFactory;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A structured scope that any thread may start tasks in. This class and {@link DeadlineScope}
 * (short rounds with one deadline) are the only ones that touch the {@link StructuredTaskScope}
 * preview API, so a later JDK's API change touches this package only.
 *
 * <p>Threading: {@code StructuredTaskScope} lets only its owner thread fork. Sessions and pools
 * need to start tasks from other threads (a client thread opens a server connection), so the
 * scope's owner is a small virtual thread that forks whatever is handed to it through a queue.
 * That hand-off happens once per task start, never on the data path. A scope can also be given an
 * owner loop ({@link #TaskScope(String, Consumer)}): the owner thread runs it first and tasks it
 * starts are forked at once, with no hand-off; a listener's accept loop is one, so a new client
 * costs no thread wake-up beyond its own. {@link #close()} cancels
 * the scope: every task is interrupted (which also closes the socket a virtual thread is blocked
 * on) and {@code close} returns only when all of them have ended, so no task outlives its scope.
 */
public final class TaskScope implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(TaskScope.class);
    private static final Callable<Object> STOP = new Task(null, null, null);

    private final String name;
    private final LinkedBlockingQueue<Callable<Object>> starts = new LinkedBlockingQueue<>();
    private final CancelOnRequest joiner = new CancelOnRequest();
    /** What this scope's threads are made with (see {@link VirtualThreads}), taken at construction. */
    private final ThreadFactory threads;
    private final Thread owner;
    private volatile boolean closed;

    /** Only the owner thread touches this, while the scope is open. */
    private StructuredTaskScope<Object, Void> scope;

    public TaskScope(String name) {
        this(name, null);
    }

    /**
     * A scope whose owner thread first runs {@code ownerLoop} (given this scope, so that it can
     * {@link #start} tasks directly). The loop must return once what it blocks on is closed; tasks
     * other threads start wait until it has returned.
     */
    public TaskScope(String name, Consumer<TaskScope> ownerLoop) {
        this.name = name;
        this.threads = VirtualThreads.factory();
        this.owner = threads.newThread(() -> own(ownerLoop));
        owner.setName(name + "-scope");
        owner.start();
    }

    /** Starts {@code task} in a new virtual thread of this scope; false if the scope is closed. */
    public boolean start(String threadName, Runnable task) {
        if (closed) {
            return false;
        }
        return start(new Task(name, threadName, task));
    }

    /**
     * Starts {@code task} in a new virtual thread of this scope as it is, with no wrapper around
     * it: for a task that names its thread and catches what it throws itself (what escapes it is
     * not logged), and of which there are many parked at once (a client session: each wrapper is
     * one more frame on every parked thread's stack). False if the scope is closed.
     */
    public boolean start(Callable<Object> task) {
        if (closed) {
            return false;
        }
        if (Thread.currentThread() == owner) {
            scope.fork(task);
        } else {
            starts.add(task);
        }
        return true;
    }

    public boolean isClosed() {
        return closed;
    }

    private void own(Consumer<TaskScope> ownerLoop) {
        try (var scope = StructuredTaskScope.open(joiner, cf -> cf.withThreadFactory(threads))) {
            this.scope = scope;
            if (ownerLoop != null) {
                ownerLoop.accept(this);
            }
            while (true) {
                Callable<Object> next;
                try {
                    next = starts.take();
                } catch (InterruptedException e) {
                    next = STOP;
                }
                if (next == STOP) {
                    break;
                }
                scope.fork(next);
            }
            // A completed no-op subtask makes the joiner cancel the scope: all tasks are interrupted.
            joiner.cancelRequested = true;
            scope.fork(() -> { });
            try {
                scope.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Cancels every task of this scope without waiting for them to end: for a task that ends its
     * own scope, where {@link #close} would wait for itself. Idempotent.
     */
    public void stop() {
        closed = true;
        starts.add(STOP);
    }

    /** Cancels every task of this scope and waits until all have ended. Idempotent. */
    @Override
    public void close() {
        stop();
        try {
            owner.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * One task: names its thread, runs, logs what escapes. A class forked as a {@link Callable}
     * rather than nested lambdas, because every wrapper level is one more frame on the stack of
     * each parked thread; an idle client's parked thread keeps its frames on the heap (see the
     * README's memory notes). A {@code Callable<Object>}, not {@code Callable<Void>}: a narrower
     * return type would add a bridge method, and with it a frame, above this one.
     */
    private record Task(String scopeName, String threadName, Runnable body) implements Callable<Object> {
        @Override
        public Object call() {
            Thread.currentThread().setName(threadName);
            try {
                body.run();
            } catch (RuntimeException | Error e) {
                log.error("task in scope {} failed", scopeName, e);
            }
            return null;
        }
    }

    /** Never fails the scope on a task's outcome; cancels it once asked to. */
    private static final class CancelOnRequest implements Joiner<Object, Void> {
        volatile boolean cancelRequested;

        @Override
        public boolean onComplete(Subtask<?> subtask) {
            return cancelRequested;
        }

        @Override
        public Void result() {
            return null;
        }
    }
}
