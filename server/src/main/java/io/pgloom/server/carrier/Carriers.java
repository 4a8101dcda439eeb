package io.pgloom.server.carrier;

import java.lang.foreign.MemorySegment;
import io.pgloom.server.VirtualThreads;
import io.pgloom.wire.auth.HeavyWork;
import io.pgloom.wire.tcp.Dialer;
import java.io.IOException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * pgloom's own carriers (io_mode = carriers): N platform threads, each running its share of the
 * virtual threads and polling their sockets itself ({@link Carrier}). Installed once per process,
 * at startup: from then on every scope forks its threads onto the carriers, spread round-robin
 * ({@link VirtualThreads#use}); connections to servers are opened as carrier channels
 * ({@link #dialer}); listeners accept carrier channels; PBKDF2 runs off the carriers
 * ({@link HeavyWork}). When the JDK refuses the hook, pgloom says so once and stays on the JDK's
 * scheduler and sockets (io_mode = jdk), today's proven path.
 *
 * <p>Threading: {@link #install} is synchronized and idempotent; the rest reads the one
 * installed instance, a volatile reference.
 */
public final class Carriers {
    private static final Logger log = LoggerFactory.getLogger(Carriers.class);
    private static volatile Carriers installed;

    private final Carrier[] carriers;
    private final AtomicInteger next = new AtomicInteger();
    private final ThreadFactory factory = this::newThread;

    private Carriers(Carrier[] carriers) {
        this.carriers = carriers;
    }

    /**
     * Starts {@code count} carriers and makes them where pgloom's threads run, unless already
     * done. Returns false, having logged why once, if this JDK does not let pgloom schedule
     * virtual threads itself; pgloom then runs on the JDK's scheduler and sockets.
     */
    public static synchronized boolean install(int count) {
        if (installed != null) {
            if (installed.carriers.length != count) {
                log.info("io_mode = carriers: keeping the {} carriers this process started with (io_threads = {} takes a restart)",
                        installed.carriers.length, count);
            }
            return true;
        }
        SchedulerHook hook;
        try {
            hook = SchedulerHook.open();
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            log.warn("io_mode = carriers is not available on this JVM ({}): running on the JDK's own virtual-thread"
                    + " scheduler and sockets, as io_mode = jdk", e.getMessage());
            return false;
        }
        if (NativeIo.INSTANCE == null) {
            log.warn("io_mode = carriers needs direct calls on socket descriptors, which this JVM refuses (it takes"
                    + " --add-opens java.base/sun.nio.ch=ALL-UNNAMED and --enable-native-access=ALL-UNNAMED, as the"
                    + " launcher passes them): running on the JDK's own virtual-thread scheduler and sockets, as io_mode = jdk");
            return false;
        }
        Carrier[] cs = new Carrier[count];
        try {
            for (int i = 0; i < count; i++) {
                cs[i] = new Carrier(i, hook);
            }
            OffCarrier.use(hook.jdkDefaultBuilder());
        } catch (IOException | ReflectiveOperationException | RuntimeException | LinkageError e) {
            log.warn("io_mode = carriers: could not start the carriers ({}): running as io_mode = jdk", e.toString());
            return false;
        }
        for (Carrier c : cs) {
            c.start();
        }
        Carriers carriers = new Carriers(cs);
        installed = carriers;
        VirtualThreads.use(carriers.factory);
        HeavyWork.use(OffCarrier::run);
        log.info("io_mode = carriers: {} carrier threads run pgloom's virtual threads and poll their sockets"
                + " (reads and writes by {})", count, NativeIo.DIRECT ? "direct calls" : "NIO");
        return true;
    }

    /** Whether pgloom runs on its own carriers. */
    public static boolean active() {
        return installed != null;
    }

    /** How connections to servers are opened: carrier channels once installed, JDK sockets before. */
    public static Dialer dialer() {
        return installed != null ? ChannelConduit::connect : Dialer.JDK;
    }

    /** The carriers' load as /metrics reports it: how many, how many run threads now, how many threads wait for one. */
    public record Load(int carriers, int busy, int queued) {
    }

    /** The carriers' load now (racy reads, for metrics), or null when none are installed. */
    public static Load load() {
        Carriers cs = installed;
        if (cs == null) {
            return null;
        }
        int busy = 0;
        int queued = 0;
        for (Carrier c : cs.carriers) {
            busy += c.busy() ? 1 : 0;
            queued += c.queued();
        }
        return new Load(cs.carriers.length, busy, queued);
    }

    /** How many carriers run (0: none installed). */
    public static int count() {
        Carriers c = installed;
        return c == null ? 0 : c.carriers.length;
    }

    /**
     * The clock of the hot path: on a carrier, System.nanoTime as that carrier read it when its
     * last epoll_wait returned (or before it ran tasks other threads handed in), which is when
     * whatever the caller is handling was seen to arrive; elsewhere System.nanoTime itself.
     * PgBouncer keeps the same cached time per turn of its loop: one clock read per epoll_wait
     * instead of one per message (four or five per pooled transaction, 7% of the relay's user
     * time). It runs behind the true clock by at most one turn of the loop, so it serves
     * statistics, idle times and timeouts; two readings on different carriers may be out of
     * order by that much, so durations taken from it are clamped at zero.
     */
    public static long nanoTime() {
        Carrier c = current();
        return c != null ? c.now : System.nanoTime();
    }

    /** The number of the carrier running the calling thread (from 0), or -1 if it runs on none. */
    public static int currentIndex() {
        Carrier c = current();
        return c == null ? -1 : c.index;
    }

    /** The carrier running the calling thread, or null if it runs on none of them. */
    static Carrier current() {
        Carriers cs = installed;
        if (cs == null) {
            return null;
        }
        Thread t = SchedulerHook.carrierThread();
        for (Carrier c : cs.carriers) {
            if (c.thread == t) {
                return c;
            }
        }
        return null;
    }

    /**
     * The errno box for a direct call ({@link NativeIo}) made now by the calling thread: its
     * carrier's, or for a thread on none a new one. Only for a call whose errno is read before
     * the caller can park.
     */
    static MemorySegment errnoBox() {
        Carrier c = current();
        return c != null ? c.errno : NativeIo.errnoBox();
    }

    /** The caller's carrier, or for a thread on none (a platform thread), the first: its waits then wake it explicitly. */
    static Carrier currentOrFirst() {
        Carrier c = current();
        return c != null ? c : installed.carriers[0];
    }

    /** A virtual thread on the next carrier round-robin: sessions spread evenly as they are accepted. */
    private Thread newThread(Runnable task) {
        Carrier c = carriers[Math.floorMod(next.getAndIncrement(), carriers.length)];
        return c.builder.unstarted(task);
    }
}
