package io.pgloom.server.carrier;

import java.io.IOException;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.ClosedSelectorException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One carrier: a platform thread that runs the virtual threads assigned to it and, when none of
 * them is runnable, waits in epoll (its own {@link Selector}) for the sockets they read. A socket
 * read that finds nothing parks its virtual thread ({@link Readiness}); the selector's report
 * unparks it on this same carrier, so a relay round trip costs one epoll_wait shared by every
 * socket that became ready, and no hand-off between threads.
 *
 * <p>Threading: {@link #execute} is the virtual threads' scheduler and may be called from any
 * thread. From this carrier's own thread (a readiness report unparking a reader) the task goes
 * on a plain local queue; from elsewhere (a thread of another carrier unparking one of ours, a
 * timer, the JDK's poller) on a concurrent queue, with a selector wake-up only if this carrier
 * is blocked in select. Everything else runs on this carrier's thread.
 */
final class Carrier implements Executor, Runnable {
    private static final Logger log = LoggerFactory.getLogger(Carrier.class);
    /**
     * Tasks run from the local queue before the selector is polled again: enough to empty it in
     * any real load, few enough that a thread that keeps yielding cannot starve the sockets.
     */
    private static final int BATCH = 1024;

    final int index;
    final Selector selector;
    final Thread thread;
    final Thread.Builder.OfVirtual builder;
    private final ArrayDeque<Runnable> local = new ArrayDeque<>();
    private final ConcurrentLinkedQueue<Runnable> remote = new ConcurrentLinkedQueue<>();
    private final Consumer<SelectionKey> dispatch = Carrier::dispatch;
    /** True while this carrier is in (or about to enter) a blocking select. */
    private volatile boolean selecting;
    /**
     * Set by the one producer that wakes the current select, cleared by the carrier after it: the
     * JDK's {@code Selector.wakeup} takes a monitor, and a virtual thread that unparks another
     * (which lands here) cannot unmount, so producers racing for that monitor would pin their
     * carriers. With the flag, at most one producer per select calls it.
     */
    private final AtomicBoolean wakeupSent = new AtomicBoolean();
    /**
     * Other carriers whose select one of this carrier's virtual threads is to wake, woken by this
     * carrier's own thread as soon as that virtual thread yields (see {@link #wakeup}). Touched
     * on this carrier's thread only.
     */
    private final ArrayDeque<Carrier> wakeLater = new ArrayDeque<>();
    private volatile boolean stopped;

    Carrier(int index, SchedulerHook hook) throws IOException, ReflectiveOperationException {
        this.index = index;
        this.selector = Selector.open();
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

    /**
     * Makes a blocked select return, so registrations and interest changes made from another
     * thread take effect. A virtual thread on another carrier does not call the JDK's
     * {@code Selector.wakeup} itself: it takes a monitor that this carrier's select also takes,
     * and a virtual thread that waits for a monitor while it unparks another (it is inside the
     * scheduler then) cannot unmount: it would pin its carrier. Its own carrier's thread sends the
     * wake-up instead, right after the virtual thread yields.
     */
    void wakeup() {
        if (selecting && !wakeupSent.get() && wakeupSent.compareAndSet(false, true)) {
            if (Thread.currentThread().isVirtual()) {
                Carrier mine = Carriers.current();
                if (mine != null && mine != this) {
                    mine.wakeLater.add(this);
                    return;
                }
            }
            selector.wakeup();
        }
    }

    /** Sends the wake-ups this carrier's virtual threads left (see {@link #wakeup}). On this carrier's thread. */
    private void sendWakeups() {
        for (Carrier c; (c = wakeLater.poll()) != null; ) {
            c.selector.wakeup();
        }
    }

    /** Whether the calling thread runs on this carrier (a virtual thread of it, or the carrier itself). */
    boolean isCurrent() {
        return SchedulerHook.carrierThread() == thread;
    }

    @Override
    public void run() {
        while (!stopped) {
            try {
                sendWakeups(); // any left by a pass that failed
                runLocal();
                for (Runnable r; (r = remote.poll()) != null; ) {
                    r.run();
                    if (!wakeLater.isEmpty()) {
                        sendWakeups();
                    }
                }
                if (local.isEmpty()) {
                    selecting = true;
                    // Set before this last look, so a task added meanwhile either is seen here or
                    // its producer sees selecting and wakes the select.
                    if (remote.isEmpty()) {
                        selector.select(dispatch);
                    } else {
                        selector.selectNow(dispatch);
                    }
                    selecting = false;
                } else {
                    selector.selectNow(dispatch);
                }
                // After every select, not only blocking ones: a wake-up sent late is consumed by
                // whichever select comes next, and the flag must not outlive it.
                wakeupSent.set(false);
            } catch (ClosedSelectorException e) {
                return;
            } catch (IOException | RuntimeException | Error e) {
                // Nothing may end this loop: a carrier that stops strands every session on it.
                // A continuation does not throw (a virtual thread's failure ends that thread), so
                // anything here is a defect to report, and the loop goes on.
                selecting = false;
                wakeupSent.set(false);
                log.error("carrier {}: unexpected failure in its loop (it goes on)", index, e);
            }
        }
    }

    private void runLocal() {
        Runnable r;
        for (int ran = 0; ran < BATCH && (r = local.poll()) != null; ran++) {
            r.run();
            if (!wakeLater.isEmpty()) {
                sendWakeups();
            }
        }
    }

    private static void dispatch(SelectionKey key) {
        int ops;
        try {
            ops = key.readyOps();
        } catch (CancelledKeyException e) {
            return; // the channel was closed meanwhile, which woke its waiters
        }
        ((Readiness) key.attachment()).fire(key, ops);
    }

    /** For the metrics: whether this carrier is running threads now rather than waiting in select (a racy read). */
    boolean busy() {
        return !selecting;
    }

    /** For the metrics: threads ready to run and waiting for this carrier (an approximate, racy count). */
    int queued() {
        return Math.max(0, local.size()) + remote.size();
    }

    /** Ends the loop (tests); virtual threads still on it never run again. */
    void stop() {
        stopped = true;
        selector.wakeup();
    }
}
