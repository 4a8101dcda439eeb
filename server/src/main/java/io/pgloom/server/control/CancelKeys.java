package io.pgloom.server.control;

import io.pgloom.server.frontend.ClientSession;
import io.pgloom.wire.auth.Entropy;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands out the BackendKeyData each client gets from pgloom (never a server's own key, which
 * changes with every server the client is linked to), and finds the client a CancelRequest names.
 *
 * <p>With peering off ({@code peer_id = 0}) the process id is a 31-bit sequence and the secret 32
 * random bits. With a peer id, the key is laid out as PgBouncer 1.25 lays it out, so that pgloom
 * and PgBouncer processes can be peers of each other: of the 8 key bytes (process id then secret,
 * big-endian, as BackendKeyData sends them) byte 1 holds the peer id's low byte and byte 2 its high
 * byte, and the two lowest bits of byte 7 (the secret's) are a TTL, 3 when handed out, that each
 * forwarding peer decrements, so a misconfigured [peers] loop ends. The other 15 bits of the
 * process id are a per-process sequence, the other 30 bits of the secret random. The peer id field
 * is 16 bits wide whatever assigns it: [peers] now, a cluster's membership later.
 *
 * <p>Bit 31 of the process id is always 0 (some clients choke on a negative pid, as PgBouncer
 * found with pg_basebackup). Process ids are unique among live clients: the admin console's
 * {@code id} column and the {@code C-<pid>} log names rest on it.
 */
final class CancelKeys {
    private static final Logger log = LoggerFactory.getLogger(CancelKeys.class);
    static final int MAX_PEER_ID = 0xFFFF;
    /** The TTL bits of the secret, as PgBouncer's CANCELLATION_TTL_MASK. */
    static final int TTL_MASK = 0x3;
    private static final int PEERING_SEQUENCE_MASK = 0x7FFF;

    /** A live client's key; {@code secretMask} leaves out the TTL bits of a peering key. */
    private record Issued(ClientSession client, int secretMask) {
    }

    private volatile int peerId;
    private final AtomicInteger sequence = new AtomicInteger();
    private final ConcurrentHashMap<Integer, Issued> byPid = new ConcurrentHashMap<>();

    CancelKeys(int peerId) {
        peerId(peerId);
    }

    /**
     * The peer id new keys carry (peer_id; a reload may change it). Keys handed out before stay
     * valid here: a CancelRequest is looked up among this process's own keys first.
     */
    void peerId(int id) {
        if (id < 0 || id > MAX_PEER_ID) {
            log.error("peer_id = {} is outside 0..{}: peering is off, cancel keys carry no peer id", id, MAX_PEER_ID);
            id = 0;
        }
        peerId = id;
    }

    int peerId() {
        return peerId;
    }

    /** The peer id a process id carries (bytes 1 and 2, low byte first); 0 for a key of no peer. */
    static int peerOf(int processId) {
        return ((processId >>> 16) & 0xFF) | (((processId >>> 8) & 0xFF) << 8);
    }

    /** A peering key's process id: {@code peer} in bytes 1 and 2, the 15-bit {@code seq} around them. */
    static int peeringPid(int peer, int seq) {
        return ((seq >>> 8) & 0x7F) << 24 | (peer & 0xFF) << 16 | ((peer >>> 8) & 0xFF) << 8 | (seq & 0xFF);
    }

    /**
     * Gives the client a pid no other live client has, and a fresh secret. False when every pid is
     * taken: with a peer id only 32767 clients at once can have a distinct key.
     */
    boolean assign(ClientSession client) {
        int peer = peerId;
        int tries = peer > 0 ? PEERING_SEQUENCE_MASK + 1 : Integer.MAX_VALUE;
        int secret = peer > 0 ? Entropy.nextInt() | TTL_MASK : Entropy.nextInt();
        Issued issued = new Issued(client, peer > 0 ? ~TTL_MASK : -1);
        for (int i = 0; i < tries; i++) {
            int seq = sequence.incrementAndGet();
            int pid = peer > 0 ? peeringPid(peer, seq & PEERING_SEQUENCE_MASK) : seq & Integer.MAX_VALUE;
            if ((peer > 0 ? seq & PEERING_SEQUENCE_MASK : pid) == 0) {
                continue;
            }
            // The client holds its key before the map names it: a cancel never sees it half made.
            client.cancelKey(pid, secret);
            if (byPid.putIfAbsent(pid, issued) == null) {
                return true;
            }
        }
        client.cancelKey(0, 0);
        return false;
    }

    void forget(ClientSession client) {
        if (client.cancelPid() != 0) {
            byPid.computeIfPresent(client.cancelPid(), (pid, issued) -> issued.client() == client ? null : issued);
        }
    }

    /**
     * The client that a CancelRequest names, if the secret matches (compared in constant time,
     * without the TTL bits a forwarding peer may have decremented).
     */
    ClientSession find(int pid, int secret) {
        Issued issued = byPid.get(pid);
        if (issued == null) {
            return null;
        }
        return ((issued.client().cancelSecret() ^ secret) & issued.secretMask()) == 0 ? issued.client() : null;
    }

    int size() {
        return byPid.size();
    }
}
