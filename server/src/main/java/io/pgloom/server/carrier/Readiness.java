package io.pgloom.server.carrier;

import java.io.IOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.channels.CancelledKeyException;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SelectionKey;
import java.util.concurrent.locks.LockSupport;

/**
 * Blocking waits on a non-blocking channel: the virtual thread that reads (or writes, accepts,
 * connects) parks here until its carrier's selector reports the channel ready.
 *
 * <p>The channel is registered once, with the selector of the carrier its reader runs on, and
 * stays registered with read interest (level-triggered): a wait costs no epoll_ctl. A report that
 * finds nobody waiting to read withdraws the read interest, so an idle connection that has unread
 * bytes does not make its carrier spin; the next wait puts it back. Read readiness is remembered
 * ({@link #readable}): the caller reads first and waits only when the last read came back short,
 * so no read ends in EAGAIN just to learn it must wait.
 *
 * <p>Threading: one reader and one writer at a time (the callers guarantee it); {@link #fire}
 * runs on the carrier thread the channel is registered with; {@link #wakeAll} from any thread.
 * The reader may be a thread of another carrier or no carrier at all (a login done by one thread
 * whose connection another then reads): the first wait from a new carrier moves the registration
 * there, and a wait from a thread that is on no carrier uses the first carrier with explicit
 * wake-ups.
 */
final class Readiness {
    private final SelectableChannel channel;
    private final int readOp;
    /** The registration; replaced when the reader moves to another carrier. */
    private volatile SelectionKey key;
    private volatile Carrier carrier;
    /** False once a read came back short: it drained the socket, so the next read waits first. */
    volatile boolean readable = true;
    private volatile Thread reader;
    /** The reader the registration was last placed for: it is on that reader's carrier. Readers only. */
    private Thread placedFor;
    private volatile Thread writer;
    private volatile boolean closed;
    /** Closes the channel the way its owner does (an interrupted wait closes it, as on a JDK socket). */
    private final Runnable closer;

    /**
     * {@code readOp}: {@link SelectionKey#OP_READ}, or {@link SelectionKey#OP_ACCEPT} for a
     * listening channel; {@code closer}: the owner's close, which ends with {@link #wakeAll}.
     */
    Readiness(SelectableChannel channel, int readOp, Runnable closer) {
        this.channel = channel;
        this.readOp = readOp;
        this.closer = closer;
    }

    /** Parks until the channel may have bytes to read (or a connection to accept), or {@code deadline} (nanoTime; 0: none). */
    void awaitReadable(long deadline) throws IOException {
        Thread me = Thread.currentThread();
        reader = me;
        try {
            SelectionKey k = key;
            if (k == null || placedFor != me) {
                // A new reader: find its carrier (a virtual thread never changes carrier, so
                // the same reader's later waits skip this).
                Carrier c = Carriers.currentOrFirst();
                k = keyOn(c);
                if (carrier == c) {
                    placedFor = me;
                }
            }
            if ((k.interestOps() & readOp) == 0) {
                interestOr(k, carrier, readOp);
            }
            if (!readable) {
                park(deadline);
            }
        } catch (CancelledKeyException e) {
            throw closedException();
        } finally {
            reader = null;
        }
        afterWait(me);
    }

    /**
     * Parks until the channel can take more bytes ({@link SelectionKey#OP_WRITE}) or its connect
     * has finished ({@link SelectionKey#OP_CONNECT}), or {@code deadline} (nanoTime; 0: none).
     */
    void awaitWritable(int op, long deadline) throws IOException {
        Thread me = Thread.currentThread();
        writer = me;
        try {
            while (true) {
                SelectionKey k = key;
                Carrier c = carrier;
                try {
                    if (k == null) {
                        // The first registration; a reader may make its own meanwhile, and a close
                        // cancel either: both end here as a cancelled key.
                        c = Carriers.currentOrFirst();
                        k = keyOn(c);
                    }
                    interestOr(k, c, op);
                } catch (CancelledKeyException e) {
                    ensureOpen(); // closed meanwhile: "Socket closed", as on a JDK socket
                    continue; // the reader moved the registration meanwhile: use the new one
                }
                if (key == k) {
                    break;
                }
            }
            park(deadline);
        } finally {
            writer = null;
        }
        afterWait(me);
    }

    /** The selector's report for {@code k}, on the thread of the carrier {@code k} belongs to. */
    void fire(SelectionKey k, int ops) {
        try {
            if ((ops & readOp) != 0) {
                readable = true;
                Thread t = reader;
                if (t != null) {
                    LockSupport.unpark(t);
                } else {
                    // Nobody reads now: stop reporting this socket until someone waits on it.
                    k.interestOpsAnd(~readOp);
                }
            }
            int writeOps = ops & (SelectionKey.OP_WRITE | SelectionKey.OP_CONNECT);
            if (writeOps != 0) {
                k.interestOpsAnd(~writeOps);
                Thread t = writer;
                if (t != null) {
                    LockSupport.unpark(t);
                }
            }
        } catch (CancelledKeyException e) {
            // closed or moved meanwhile: whoever waits was woken by that
        }
    }

    /**
     * After the channel was closed: wakes whoever waits on it (they then see it closed) and makes
     * the carrier's selector drop the registration now, which is when the kernel closes the socket.
     */
    void wakeAll() {
        closed = true;
        Thread t = reader;
        if (t != null) {
            LockSupport.unpark(t);
        }
        t = writer;
        if (t != null) {
            LockSupport.unpark(t);
        }
        Carrier c = carrier;
        if (c != null && !c.isCurrent()) {
            c.wakeup();
        }
    }

    /** The registration with {@code c}'s selector: made on the first wait, moved when the reader is on another carrier. */
    private SelectionKey keyOn(Carrier c) throws IOException {
        SelectionKey k = key;
        if (k != null && carrier == c) {
            return k;
        }
        ensureOpen();
        if (k != null && writer != null && writer != Thread.currentThread()) {
            return k; // a writer waits on the old registration: move on a later wait
        }
        SelectionKey moved;
        try {
            moved = channel.register(c.selector, readOp, this);
        } catch (CancelledKeyException e) {
            // Moved away from c and back before c's selector dropped the old key: stay put.
            ensureOpen();
            if (k == null) {
                throw e;
            }
            return k;
        } catch (java.nio.channels.ClosedChannelException e) {
            throw closedException();
        }
        Carrier from = carrier;
        carrier = c;
        key = moved;
        if (k != null) {
            k.cancel();
            // The kernel closes a closed channel's socket only once every selector has dropped
            // its key: make the old carrier drop this one now, not at its next wake-up.
            from.wakeup();
            if (writer != null) {
                // A writer that raced the move may have armed the old key only.
                moved.interestOpsOr(SelectionKey.OP_WRITE);
            }
        }
        if (!c.isCurrent()) {
            c.wakeup();
        }
        return moved;
    }

    private static void interestOr(SelectionKey k, Carrier c, int op) {
        k.interestOpsOr(op);
        if (!c.isCurrent()) {
            c.wakeup();
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
            closeForInterrupt();
            throw new SocketException("Closed by interrupt");
        }
        ensureOpen();
    }

    private void closeForInterrupt() {
        closer.run();
    }

    void ensureOpen() throws SocketException {
        if (closed || !channel.isOpen()) {
            throw closedException();
        }
    }

    private static SocketException closedException() {
        return new SocketException("Socket closed");
    }
}
