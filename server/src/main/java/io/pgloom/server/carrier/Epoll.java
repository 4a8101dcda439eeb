package io.pgloom.server.carrier;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * One carrier's epoll instance, called through FFM: a registration is made once per socket
 * (edge-triggered), a report carries the
 * registration's token ({@link Registry}), and an eventfd registered with it wakes a blocked
 * wait from any thread. Unlike the JDK's {@code Selector}, registering, moving and closing need
 * no help from the thread that waits: epoll_ctl may be called from any thread, and closing a
 * descriptor drops it from every epoll set at once.
 *
 * <p>Threading: {@link #await} and the report accessors on the carrier's thread only;
 * {@link #add}, {@link #delete} and {@link #wakeup} from any thread.
 */
final class Epoll {
    static final int IN = 0x001;
    static final int OUT = 0x004;
    static final int ERR = 0x008;
    static final int HUP = 0x010;
    static final int RDHUP = 0x2000;
    static final int EDGE = 1 << 31;
    /** The token of the wake-up eventfd's reports. */
    static final long WAKE = -1;

    private static final int CTL_ADD = 1;
    private static final int CTL_DEL = 2;
    private static final int CTL_MOD = 3;
    private static final int CLOEXEC = 0x80000; // EPOLL_CLOEXEC and EFD_CLOEXEC
    private static final int EFD_NONBLOCK = 0x800;
    private static final int ENOENT = 2;
    private static final int EBADF = 9;
    /** Reports taken per wait: more wait for the next one, which comes at once. */
    private static final int MAX_EVENTS = 256;
    /**
     * struct epoll_event: a 32-bit mask and 64 bits of data, packed on x86-64 (12 bytes), aligned
     * elsewhere (16 bytes, the data at 8).
     */
    private static final boolean PACKED = switch (System.getProperty("os.arch")) {
        case "amd64", "x86_64" -> true;
        default -> false;
    };
    private static final long EVENT_SIZE = PACKED ? 12 : 16;
    private static final long DATA_OFFSET = PACKED ? 4 : 8;

    // Static finals, so that the JIT binds the calls as constants (see NativeIo).
    private static final MethodHandle CREATE;
    private static final MethodHandle CTL;
    private static final MethodHandle WAIT;
    private static final MethodHandle EVENTFD;
    private static final MethodHandle EVENTFD_WRITE;
    private static final MethodHandle CLOSE;

    static {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        ValueLayout.OfInt i = ValueLayout.JAVA_INT;
        CREATE = linker.downcallHandle(libc.find("epoll_create1").orElseThrow(), FunctionDescriptor.of(i, i));
        // Quick and never blocking: critical, on a heap array, errno captured.
        CTL = linker.downcallHandle(libc.find("epoll_ctl").orElseThrow(),
                FunctionDescriptor.of(i, i, i, i, ValueLayout.ADDRESS),
                Linker.Option.critical(true), Linker.Option.captureCallState("errno"));
        // Blocks: an ordinary downcall, into native memory.
        WAIT = linker.downcallHandle(libc.find("epoll_wait").orElseThrow(),
                FunctionDescriptor.of(i, i, ValueLayout.ADDRESS, i, i));
        EVENTFD = linker.downcallHandle(libc.find("eventfd").orElseThrow(), FunctionDescriptor.of(i, i, i));
        EVENTFD_WRITE = linker.downcallHandle(libc.find("eventfd_write").orElseThrow(),
                FunctionDescriptor.of(i, i, ValueLayout.JAVA_LONG));
        CLOSE = linker.downcallHandle(libc.find("close").orElseThrow(), FunctionDescriptor.of(i, i));
    }

    private final int epfd;
    private final int wakeFd;
    private final MemorySegment events;

    Epoll() throws IOException {
        try {
            epfd = (int) CREATE.invokeExact(CLOEXEC);
            if (epfd < 0) {
                throw new IOException("epoll_create1 failed");
            }
            wakeFd = (int) EVENTFD.invokeExact(0, CLOEXEC | EFD_NONBLOCK);
            if (wakeFd < 0) {
                int ignored = (int) CLOSE.invokeExact(epfd);
                throw new IOException("eventfd failed");
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
        events = Arena.ofAuto().allocate(EVENT_SIZE * MAX_EVENTS, 8);
        // Edge-triggered: every wake-up written reports once; the count is never read back.
        add(wakeFd, IN | EDGE, WAKE);
    }

    /** Registers {@code fd} for {@code mask}, its reports to carry {@code token}. */
    void add(int fd, int mask, long token) throws IOException {
        control(CTL_ADD, fd, mask, token);
    }

    /** Changes what {@code fd} is registered for; the kernel reports at once what of it is ready now. */
    void modify(int fd, int mask, long token) throws IOException {
        control(CTL_MOD, fd, mask, token);
    }

    private void control(int op, int fd, int mask, long token) throws IOException {
        MemorySegment errno = NativeIo.errnoBox();
        if (ctl(errno, op, fd, mask, token) < 0) {
            throw NativeIo.INSTANCE.failure(NativeIo.INSTANCE.errno(errno));
        }
    }

    /** Withdraws {@code fd}'s registration; one already gone (the descriptor closed) is no error. */
    void delete(int fd) throws IOException {
        MemorySegment errno = NativeIo.errnoBox();
        if (ctl(errno, CTL_DEL, fd, 0, 0) < 0) {
            int e = NativeIo.INSTANCE.errno(errno);
            if (e != ENOENT && e != EBADF) {
                throw NativeIo.INSTANCE.failure(e);
            }
        }
    }

    private int ctl(MemorySegment errno, int op, int fd, int mask, long token) {
        MemorySegment event = MemorySegment.ofArray(new long[2]);
        event.set(ValueLayout.JAVA_INT_UNALIGNED, 0, mask);
        event.set(ValueLayout.JAVA_LONG_UNALIGNED, DATA_OFFSET, token);
        try {
            return (int) CTL.invokeExact(errno, epfd, op, fd, event);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Waits for reports, at most {@code timeoutMillis} (-1: until one comes, 0: none): how many
     * there are ({@link #token}, {@link #mask}); 0 also when a signal interrupted the wait.
     */
    int await(int timeoutMillis) {
        try {
            return Math.max(0, (int) WAIT.invokeExact(epfd, events, MAX_EVENTS, timeoutMillis));
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** The token of report {@code i} of the last wait. */
    long token(int i) {
        return events.get(ValueLayout.JAVA_LONG_UNALIGNED, i * EVENT_SIZE + DATA_OFFSET);
    }

    /** The event mask of report {@code i} of the last wait. */
    int mask(int i) {
        return events.get(ValueLayout.JAVA_INT_UNALIGNED, i * EVENT_SIZE);
    }

    /** Makes a blocked (or the next) {@link #await} return. From any thread: one plain syscall. */
    void wakeup() {
        try {
            int ignored = (int) EVENTFD_WRITE.invokeExact(wakeFd, 1L);
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
