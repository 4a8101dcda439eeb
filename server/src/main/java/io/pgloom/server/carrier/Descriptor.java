package io.pgloom.server.carrier;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.channels.SelectableChannel;
import java.util.concurrent.locks.LockSupport;

/**
 * A non-blocking channel's descriptor as the carriers see it: its registration with a carrier's
 * {@link Epoll}, the blocking waits of the virtual threads that read and write it, and its close.
 *
 * <p><b>Readiness.</b> The descriptor is registered once, edge-triggered, with the epoll of the
 * carrier its reader runs on: no wait costs an epoll_ctl, and an idle socket with unread bytes is
 * reported once, not at every wait of its carrier. It is registered for reads; the first writer
 * that finds the socket full (or waits for a connect) adds writes for good: a new socket is
 * writable, and registering every socket for writes would report each once for nothing. A report
 * sets {@link #readable} or {@link #writable} and unparks whoever waits. The callers clear the
 * flag before the call that may find nothing (a read, a retried write), so a report that comes
 * after the call sets it again; a read that came back short drained the socket, so the next read
 * waits first and no read ends in EAGAIN just to learn it must wait. End of stream and errors
 * stay readable once reported ({@link #hungUp}): they are reported once.
 *
 * <p><b>Close.</b> The channel may not close the descriptor under a native call that uses it (the
 * number could be a new socket's by the time the call runs): calls are counted ({@link #enter},
 * {@link #leave}), and a close that comes during one is finished by that call as it ends. Closing
 * the channel (or the bare descriptor) drops the registration in the kernel; its {@link Registry} token is freed, so a
 * report already taken from the kernel is dropped.
 *
 * <p>Threading: one reader and one writer at a time (the callers guarantee it); {@link #fire} on
 * the thread of a carrier it is or was registered with; {@link #close} from any thread. The reader
 * may be a thread of another carrier or of none (a login done by one thread whose connection
 * another then reads): its first wait from a new carrier moves the registration there, and a
 * thread on no carrier waits on the first carrier's reports.
 */
final class Descriptor {
    /** {@link #uses}: set once close was asked for; the channel is closed when no call uses the descriptor. */
    private static final int CLOSING = Integer.MIN_VALUE;
    /** {@link #uses}: set by whoever closed the channel (once). */
    private static final int CLOSED = 1 << 30;
    private static final VarHandle USES;

    static {
        try {
            USES = MethodHandles.lookup().findVarHandle(Descriptor.class, "uses", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The channel that owns {@link #fd}; null for a bare descriptor, which {@link #close} closes itself. */
    final SelectableChannel channel;
    final int fd;
    /** This descriptor's reports' token ({@link Registry}). */
    final long token;
    /** What the registration asks for (an {@link Epoll} mask). Changed under this object's lock. */
    private volatile int mask;
    /** False once a call found nothing to read (or a read came back short), until a report. */
    volatile boolean readable = true;
    /**
     * Set for good by the report that the peer closed its side or the socket failed: the end of
     * the stream is reported once, and the read that drained the last bytes before it does not
     * see it, so a short read after this still leaves the descriptor readable.
     */
    volatile boolean hungUp;
    /** False once a write found no room, until a report. */
    volatile boolean writable = true;
    private volatile Thread reader;
    private volatile Thread writer;
    /** The carrier whose epoll holds the registration; null before the first wait. Changed under this object's lock. */
    private volatile Carrier carrier;
    /** The reader the registration was last placed for: it is on that reader's carrier. Readers only. */
    private Thread placedFor;
    private volatile boolean closed;
    /** How many native calls use {@link #fd} now, plus {@link #CLOSING} and {@link #CLOSED}. */
    @SuppressWarnings("unused") // through USES
    private volatile int uses;

    /** {@code listening}: a listening channel, whose reads are accepts. */
    Descriptor(SelectableChannel channel, boolean listening) {
        this(channel, NativeIo.INSTANCE.fd(channel), listening);
    }

    /** A connected socket's descriptor that no channel owns (see {@link ChannelAcceptor#acceptTcp}): this closes it. */
    Descriptor(int fd) {
        this(null, fd, false);
    }

    private Descriptor(SelectableChannel channel, int fd, boolean listening) {
        this.channel = channel;
        this.fd = fd;
        this.mask = listening ? Epoll.IN | Epoll.EDGE : Epoll.IN | Epoll.RDHUP | Epoll.EDGE;
        this.token = Registry.add(this);
    }

    /** Parks until a report says the descriptor may be read (or accepted from), or {@code deadline} (nanoTime; 0: none). */
    void awaitReadable(long deadline) throws IOException {
        Thread me = Thread.currentThread();
        reader = me;
        try {
            if (placedFor != me) {
                // A new reader: register on its carrier (a virtual thread never changes carrier,
                // so the same reader's later waits skip this).
                Carrier c = Carriers.currentOrFirst();
                register(c, true, false);
                if (c.isCurrent()) {
                    placedFor = me;
                }
            }
            if (!readable) {
                park(deadline);
            }
        } finally {
            reader = null;
        }
        afterWait(me);
    }

    /** Parks until a report says the descriptor may be written (or has connected), or {@code deadline} (nanoTime; 0: none). */
    void awaitWritable(long deadline) throws IOException {
        Thread me = Thread.currentThread();
        writer = me;
        try {
            if (carrier == null || (mask & Epoll.OUT) == 0) {
                register(Carriers.currentOrFirst(), false, true);
            }
            if (!writable) {
                park(deadline);
            }
        } finally {
            writer = null;
        }
        afterWait(me);
    }

    /** A report for this descriptor, on a carrier's thread. */
    void fire(int events) {
        if ((events & (Epoll.RDHUP | Epoll.HUP | Epoll.ERR)) != 0) {
            hungUp = true; // before readable: a reader that missed this report sees the flag
        }
        if ((events & (Epoll.IN | Epoll.RDHUP | Epoll.HUP | Epoll.ERR)) != 0) {
            readable = true;
            Thread t = reader;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
        if ((events & (Epoll.OUT | Epoll.HUP | Epoll.ERR)) != 0) {
            writable = true;
            Thread t = writer;
            if (t != null) {
                LockSupport.unpark(t);
            }
        }
    }

    /**
     * Registers with {@code c}'s epoll, or moves the registration there ({@code move}: a reader's
     * wait; a writer's never moves it), adding writes to what it asks for ({@code write}). The
     * kernel reports at once what is ready then, so nothing that happened before is lost.
     */
    private synchronized void register(Carrier c, boolean move, boolean write) throws IOException {
        Carrier from = carrier;
        int want = write ? mask | Epoll.OUT : mask;
        boolean moves = from == null || (move && from != c);
        if (!moves && want == mask) {
            return;
        }
        enter();
        try {
            if (moves) {
                c.epoll.add(fd, want, token);
                carrier = c;
                mask = want;
                if (from != null) {
                    from.epoll.delete(fd);
                }
            } else {
                from.epoll.modify(fd, want, token);
                mask = want;
            }
        } finally {
            leave();
        }
    }

    /** Closes the channel, at once or, if a native call uses the descriptor now, as that call ends. From any thread. */
    void close() {
        int u;
        do {
            u = uses;
            if ((u & CLOSING) != 0) {
                return;
            }
        } while (!USES.compareAndSet(this, u, u | CLOSING));
        if (u == 0) {
            finishClose();
        }
    }

    private void finishClose() {
        if (!USES.compareAndSet(this, CLOSING, CLOSING | CLOSED)) {
            return; // a call entered meanwhile: it closes as it leaves
        }
        if (channel == null) {
            NativeIo.INSTANCE.close(fd); // which also drops its epoll registration
        } else {
            try {
                channel.close(); // registered with no JDK selector: the descriptor is closed now
            } catch (IOException ignored) {
                // closed anyway
            }
        }
        Registry.remove(token);
        closed = true;
        Thread t = reader;
        if (t != null) {
            LockSupport.unpark(t);
        }
        t = writer;
        if (t != null) {
            LockSupport.unpark(t);
        }
    }

    /** Before a native call on {@link #fd}: fails if the descriptor is closing. */
    void enter() throws SocketException {
        if ((int) USES.getAndAdd(this, 1) < 0) {
            leave();
            throw closedException();
        }
    }

    /** After a native call: finishes a close asked for during it. */
    void leave() {
        if ((int) USES.getAndAdd(this, -1) - 1 == CLOSING) {
            finishClose();
        }
    }

    private void park(long deadline) throws SocketTimeoutException {
        if (closed) {
            return;
        }
        if (deadline == 0) {
            LockSupport.park(this);
            return;
        }
        long left = deadline - System.nanoTime();
        if (left <= 0) {
            throw new SocketTimeoutException("Read timed out");
        }
        LockSupport.parkNanos(this, left);
    }

    /** What every wait ends with: a closed channel or an interrupt is an error, as on a JDK socket. */
    private void afterWait(Thread me) throws IOException {
        if (me.isInterrupted()) {
            close();
            throw new SocketException("Closed by interrupt");
        }
        ensureOpen();
    }

    /** False once the descriptor is closed. */
    boolean isOpen() {
        return !closed;
    }

    void ensureOpen() throws SocketException {
        if (closed || (uses & CLOSING) != 0) {
            throw closedException();
        }
    }

    static SocketException closedException() {
        return new SocketException("Socket closed");
    }
}
