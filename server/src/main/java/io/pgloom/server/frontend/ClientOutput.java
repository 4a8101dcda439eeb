package io.pgloom.server.frontend;

import io.pgloom.server.net.Transport;
import java.io.IOException;
import java.io.OutputStream;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A client's connection as the threads that write to it and close it see it: its transport, the
 * write lock, and the deadline of a final error.
 *
 * <p>Threading: any thread may write: the linked server's reader thread (query results), the
 * client's own thread (login, refusals), a janitor send-off or KILL_CLIENT (a final error). Every
 * write and flush holds the write lock, so their bytes never interleave within a message; a
 * caller that must keep several messages together holds {@link #lock} around them (the lock is
 * reentrant). The janitor thread only calls {@link #forceCloseIfDue}; {@link #close} may come
 * from any thread. The lock is a ReentrantLock, not {@code synchronized}, because writes block
 * on the socket.
 */
final class ClientOutput extends OutputStream {
    /** How long sending a client its final error may take before its connection is closed anyway. */
    static final long FINAL_WRITE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final ReentrantLock lock = new ReentrantLock();
    /** Replaced once, by {@link #upgraded}; volatile for {@link #close} from other threads. */
    private volatile Transport transport;
    /** The transport's output stream. Guarded by {@link #lock}. */
    private OutputStream out;
    /**
     * When a final error is being sent: the nanoTime after which the janitor closes the transport
     * even if the write has not finished (a client that does not read must not hold a thread, or
     * the write lock, forever). 0: no final write under way.
     */
    private volatile long forceCloseAtNanos;

    ClientOutput(Transport transport) throws IOException {
        this.transport = transport;
        this.out = transport.output();
    }

    Transport transport() {
        return transport;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    /** Server frames for the client, and every other write: one lock, one socket write. */
    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        lock.lock();
        try {
            out.write(b, off, len);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void flush() throws IOException {
        lock.lock();
        try {
            out.flush();
        } finally {
            lock.unlock();
        }
    }

    /** Writes {@code bytes} and flushes, under one hold of the lock. */
    void send(byte[] bytes) throws IOException {
        lock.lock();
        try {
            out.write(bytes);
            out.flush();
        } finally {
            lock.unlock();
        }
    }

    /** Keeps the writes up to {@link #unlock} together. */
    void lock() {
        lock.lock();
    }

    void unlock() {
        lock.unlock();
    }

    /**
     * Sends a final error. The deadline is armed before the lock is taken: a server thread
     * blocked writing to a client that does not read holds it. The janitor closes the transport
     * once it passes ({@link #forceCloseIfDue}), which ends either write.
     */
    void sendFinal(byte[] error) throws IOException {
        long deadline = System.nanoTime() + FINAL_WRITE_NANOS;
        forceCloseAtNanos = deadline == 0 ? 1 : deadline;
        send(error);
    }

    /**
     * Janitor thread: a final error is taking too long to send; closes the transport, which wakes
     * the writer. True if it did.
     */
    boolean forceCloseIfDue(long now) {
        long at = forceCloseAtNanos;
        if (at != 0 && now - at >= 0) {
            forceCloseAtNanos = 0;
            transport.close();
            return true;
        }
        return false;
    }

    /** Closes the connection (idempotent, never throws); a thread blocked on it wakes with an IOException. */
    @Override
    public void close() {
        transport.close();
    }

    /** The session is over: no final write can be under way any more, so the janitor has nothing to cut short. */
    void disarm() {
        forceCloseAtNanos = 0;
    }

    /**
     * From now on the client is written through {@code secure}, the same connection encrypted.
     * Client thread, during negotiation; under the lock so that no write is half on each.
     */
    void upgraded(Transport secure) throws IOException {
        lock.lock();
        try {
            out = secure.output();
            transport = secure;
        } finally {
            lock.unlock();
        }
    }
}
