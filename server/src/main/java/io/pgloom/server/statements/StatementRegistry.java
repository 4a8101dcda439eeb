package io.pgloom.server.statements;

import io.pgloom.wire.protocol.MessageBuilder;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The pgloom-wide names of named prepared statements on servers: one {@code PGLOOM_<n>} per
 * distinct statement (query text plus parameter type OIDs), whoever prepared it, so that two
 * clients preparing the same text share one copy on each server.
 *
 * <p>Threading: any client thread registers; lock-free apart from the map's own bin locks.
 *
 * <p>Entries are held weakly: a statement lives while a client names it or a server cache holds
 * it, then its entry goes. Numbers are never reused, so a server that still holds an old
 * {@code PGLOOM_<n>} pgloom has forgotten can never run it in place of another statement.
 */
public final class StatementRegistry {
    private final ConcurrentHashMap<Body, Ref> byBody = new ConcurrentHashMap<>();
    private final ReferenceQueue<Statement> collected = new ReferenceQueue<>();
    private final AtomicLong ids = new AtomicLong();

    /** The shared statement for a Parse body (everything after the statement name). */
    Statement register(byte[] body) {
        for (Ref dead; (dead = (Ref) collected.poll()) != null; ) {
            byBody.remove(dead.key, dead);
        }
        Body key = new Body(body);
        Statement[] found = new Statement[1];
        byBody.compute(key, (k, old) -> {
            Statement live = old == null ? null : old.get();
            if (live != null) {
                found[0] = live;
                return old;
            }
            found[0] = new Statement(ids.incrementAndGet(), body);
            return new Ref(found[0], k, collected);
        });
        return found[0];
    }

    /** Statements currently known, for tests and logs. */
    int size() {
        return byBody.size();
    }

    /**
     * One statement as servers know it. Identity is the statement: the registry hands out one
     * instance per body while it lives.
     */
    static final class Statement {
        final long id;
        final String name;
        private final byte[] nameBytes;
        /** The Parse body after the name: query text, NUL, parameter count and type OIDs. */
        private final byte[] body;

        Statement(long id, byte[] body) {
            this.id = id;
            this.name = "PGLOOM_" + id;
            this.nameBytes = name.getBytes(StandardCharsets.US_ASCII);
            this.body = body;
        }

        byte[] nameBytes() {
            return nameBytes;
        }

        /** Parse under this statement's server-side name. */
        byte[] parseMessage() {
            return new MessageBuilder('P').bytes(nameBytes).byte1(0).bytes(body).build();
        }

        /** Close('S') of this statement's server-side name. */
        byte[] closeMessage() {
            return new MessageBuilder('C').byte1('S').bytes(nameBytes).byte1(0).build();
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private record Body(byte[] bytes, int hash) {
        Body(byte[] bytes) {
            this(bytes, Arrays.hashCode(bytes));
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Body b && b.hash == hash && Arrays.equals(b.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    private static final class Ref extends WeakReference<Statement> {
        final Body key;

        Ref(Statement s, Body key, ReferenceQueue<Statement> q) {
            super(s, q);
            this.key = key;
        }
    }
}
