package io.pgloom.server.control;

import io.pgloom.server.frontend.ClientSession;
import java.security.SecureRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Hands out the BackendKeyData each client gets from pgloom (never a server's own key, which
 * changes with every server the client is linked to).
 *
 * <p>Layout of the 32-bit process id: bit 31 is 0 (so it prints as a positive pid), bits 30..22
 * hold the instance id (0..511) so that {@link CancelRouter} can route a CancelRequest that reaches the wrong
 * instance, and bits 21..0 a per-instance sequence. The secret is 32 random bits.
 */
final class CancelKeys {
    static final int INSTANCE_BITS = 9;
    static final int SEQUENCE_BITS = 22;
    private static final int SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1;

    private final int instanceId;
    private final AtomicInteger sequence = new AtomicInteger();
    private final SecureRandom random = io.pgloom.wire.auth.Entropy.newGenerator();
    private final ConcurrentHashMap<Integer, ClientSession> byPid = new ConcurrentHashMap<>();

    CancelKeys(int instanceId) {
        if (instanceId < 0 || instanceId >= (1 << INSTANCE_BITS)) {
            throw new IllegalArgumentException("instance id must be in 0.." + ((1 << INSTANCE_BITS) - 1));
        }
        this.instanceId = instanceId;
    }

    static int instanceOf(int pid) {
        return pid >>> SEQUENCE_BITS;
    }

    /** Gives the client a pid no other live client has, and a fresh secret. */
    void assign(ClientSession client) {
        while (true) {
            int pid = (instanceId << SEQUENCE_BITS) | (sequence.incrementAndGet() & SEQUENCE_MASK);
            if ((pid & SEQUENCE_MASK) != 0 && byPid.putIfAbsent(pid, client) == null) {
                client.cancelKey(pid, random.nextInt());
                return;
            }
        }
    }

    void forget(ClientSession client) {
        if (client.cancelPid() != 0) {
            byPid.remove(client.cancelPid(), client);
        }
    }

    /** The client that a CancelRequest names, if the secret matches (compared in constant time). */
    ClientSession find(int pid, int secret) {
        ClientSession c = byPid.get(pid);
        if (c == null) {
            return null;
        }
        return ((c.cancelSecret() ^ secret) == 0) ? c : null;
    }

    int size() {
        return byPid.size();
    }
}
