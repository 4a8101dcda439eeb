package io.pgloom.server.carrier;

import java.lang.foreign.MemorySegment;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One carrier: a platform thread that runs the virtual threads assigned to it and, when none of
 * them is runnable, waits in its own epoll ({@link Epoll}) for the sockets they read. A socket
 * read that finds nothing parks its virtual thread ({@link Descriptor}); the epoll report unparks
 * it on this same carrier, so a relay round trip costs one epoll_wait shared by every socket that
 * became ready, and no hand-off between threads.
 *
 * <p>Threading: {@link #execute} is the virtual threads' scheduler and may be called from any
 * thread. From this carrier's own thread (a report unparking a reader) the task goes on a plain
 * local queue; from elsewhere (a thread of another carrier unparking one of ours, a timer) on a
 * concurrent queue, with a wake-up of the epoll only if this carrier is blocked in it.
 * Everything else runs on this carrier's thread.
 */
final class Carrier implements Executor, Runnable {
    private static final Logger log = LoggerFactory.getLogger(Carrier.class);
    /**
     * Tasks run from the local queue before the epoll is polled again: enough to empty it in any
     * real load, few enough that a thread that keeps yielding cannot starve the sockets.
     */
    private static final int BATCH = 1024;

    final int index;
    final Epoll epoll;
    final Thread thread;
    final Thread.Builder.OfVirtual builder;
    /**
     * The errno box of the direct calls made by the virtual threads this carrier runs
     * ({@link Carriers#errnoBox}): one runs at a time, and none parks between its call and its
     * look at the errno, so they can share one instead of each socket keeping two.
     */
    final MemorySegment errno = NativeIo.errnoBox();
    private final ArrayDeque<Runnable> local = new ArrayDeque<>();
    private final ConcurrentLinkedQueue<Runnable> remote = new ConcurrentLinkedQueue<>();
    /** True while this carrier is in (or about to enter) a blocking epoll_wait. */
    private volatile boolean waiting;
    /** Set by the one producer that wakes the current wait, cleared by the carrier after it: one eventfd write per wait. */
    private final AtomicBoolean wakeupSent = new AtomicBoolean();
    private volatile boolean stopped;
    /**
     * System.nanoTime as this carrier read it when its last epoll_wait returned, or before it ran
     * tasks handed in from other threads: the clock of the threads it runs
     * ({@link Carriers#nanoTime}). Written by the carrier thread only.
     */
    volatile long now = System.nanoTime();

    Carrier(int index, SchedulerHook hook) throws IOException, ReflectiveOperationException {
        this.index = index;
        this.epoll = new Epoll();
        this.builder = hook.builder(this);
        this.thread = Thread.ofPlatform().name("pgloom-carrier-" + index).daemon().unstarted(this);
    }

    void start() {
        thread.start();
    }

    @Override
    public void execute(Runnable task) {
        if (Thread.currentThread() == thread) {
            local.add(task);
            return;
        }
        remote.add(task);
        wakeup();
    }

    /** Makes a blocked epoll_wait return, so a task handed in from another thread runs. From any thread. */
    void wakeup() {
        if (waiting && !wakeupSent.get() && wakeupSent.compareAndSet(false, true)) {
            epoll.wakeup();
        }
    }

    /** Whether the calling thread runs on this carrier (a virtual thread of it, or the carrier itself). */
    boolean isCurrent() {
        return SchedulerHook.carrierThread() == thread;
    }

    @Override
    public void run() {
        Epoll e = epoll;
        while (!stopped) {
            try {
                runLocal();
                Runnable r = remote.poll();
                if (r != null) {
                    // Handed in since the last wait, maybe long after it: their clock is read anew.
                    now = System.nanoTime();
                    do {
                        r.run();
                    } while ((r = remote.poll()) != null);
                }
                int n;
                if (local.isEmpty()) {
                    waiting = true;
                    // Set before this last look, so a task added meanwhile either is seen here or
                    // its producer sees waiting and wakes the wait.
                    n = e.await(remote.isEmpty() ? -1 : 0);
                    waiting = false;
                } else {
                    n = e.await(0);
                }
                // After every wait, not only blocking ones: a wake-up sent late is consumed by
                // whichever wait comes next, and the flag must not outlive it.
                wakeupSent.set(false);
                now = System.nanoTime();
                for (int i = 0; i < n; i++) {
                    long token = e.token(i);
                    if (token != Epoll.WAKE) {
                        Descriptor d = Registry.get(token);
                        if (d != null) {
                            d.fire(e.mask(i));
                        }
                    }
                }
            } catch (RuntimeException | Error t) {
                // Nothing may end this loop: a carrier that stops strands every session on it.
                // A continuation does not throw (a virtual thread's failure ends that thread), so
                // anything here is a defect to report, and the loop goes on.
                waiting = false;
                wakeupSent.set(false);
                log.error("carrier {}: unexpected failure in its loop (it goes on)", index, t);
            }
        }
    }

    private void runLocal() {
        Runnable r;
        for (int ran = 0; ran < BATCH && (r = local.poll()) != null; ran++) {
            r.run();
        }
    }

    /** For the metrics: whether this carrier is running threads now rather than waiting in epoll (a racy read). */
    boolean busy() {
        return !waiting;
    }

    /** For the metrics: threads ready to run and waiting for this carrier (an approximate, racy count). */
    int queued() {
        return Math.max(0, local.size()) + remote.size();
    }

    /** Ends the loop (tests); virtual threads still on it never run again. */
    void stop() {
        stopped = true;
        epoll.wakeup();
    }
}
