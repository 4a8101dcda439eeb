package io.pgloom.server.carrier;

import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The open {@link Descriptor}s by token: what an epoll report's 64 bits of data lead back to. A
 * token is a slot in a table and a serial number: a report that comes after its descriptor was
 * closed (the carrier took it from the kernel before the close) finds the slot empty or used by a
 * newer descriptor with another serial, and is dropped.
 *
 * <p>Threading: {@link #add} and {@link #remove} from any thread (under a lock: once per
 * socket); {@link #get} on the carriers' threads, without one.
 */
final class Registry {
    private static final Object lock = new Object();
    private static volatile AtomicReferenceArray<Descriptor> table = new AtomicReferenceArray<>(1024);
    /** Free slots below {@link #high}, a stack; under the lock. */
    private static int[] free = new int[64];
    private static int freeCount;
    /** Slots from here up were never used; under the lock. */
    private static int high;
    /** The serial of the next token; under the lock. */
    private static long serial;

    private Registry() {
    }

    /** A token for {@code d}, which reports with it then reach. */
    static long add(Descriptor d) {
        synchronized (lock) {
            int slot = freeCount > 0 ? free[--freeCount] : high++;
            AtomicReferenceArray<Descriptor> t = table;
            if (slot >= t.length()) {
                AtomicReferenceArray<Descriptor> bigger = new AtomicReferenceArray<>(t.length() * 2);
                for (int i = 0; i < t.length(); i++) {
                    bigger.setPlain(i, t.getPlain(i));
                }
                t = bigger;
                table = bigger;
            }
            long token = (++serial << 32) | slot;
            t.set(slot, d);
            return token;
        }
    }

    /** Frees {@code token}'s slot: reports that still carry it are dropped. */
    static void remove(long token) {
        int slot = (int) token;
        synchronized (lock) {
            table.set(slot, null);
            if (freeCount == free.length) {
                free = java.util.Arrays.copyOf(free, free.length * 2);
            }
            free[freeCount++] = slot;
        }
    }

    /** The open descriptor {@code token} was made for, or null if it is closed. */
    static Descriptor get(long token) {
        Descriptor d = table.get((int) token);
        return d != null && d.token == token ? d : null;
    }
}
