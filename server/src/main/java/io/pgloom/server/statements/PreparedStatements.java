package io.pgloom.server.statements;

import io.pgloom.server.backend.ServerConnection;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.server.pool.Pool;
import io.pgloom.server.statements.StatementRegistry.Statement;
import io.pgloom.wire.protocol.Bytes;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.MessageBuilder;
import io.pgloom.wire.protocol.MessageReader;
import io.pgloom.wire.protocol.ProtocolException;
import io.pgloom.wire.protocol.SqlState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client's named prepared statements in transaction and statement mode
 * ({@code max_prepared_statements} above 0), and the rewriting of its extended-query messages that
 * makes them work on whichever server the client holds at the moment.
 *
 * <ul>
 *   <li>Parse "S_1": remembered under the client's name; sent as {@code PGLOOM_<n>}, or not sent
 *       at all when the server already has it (pgloom answers ParseComplete).
 *   <li>Bind and Describe of "S_1": renamed; if this server lacks the statement, its Parse goes
 *       first and its ParseComplete is hidden.
 *   <li>Close of "S_1": forgotten here, answered by pgloom; the server keeps its copy for others.
 *   <li>Unnamed statements, portals and everything else pass unchanged.
 * </ul>
 *
 * <p>Threading: the client's thread does all of the above. The linked server's reader thread only
 * takes back a client statement whose Parse (or Close) never took effect, through the concurrent
 * map. Answers are put in the right place by the server's {@link ResponseQueue}.
 *
 * <p>Messages are rewritten into {@link #out}, together with the untouched bytes around them, so
 * that a read from the client still crosses to the server in one write.
 */
public final class PreparedStatements {
    private static final Logger log = LoggerFactory.getLogger(PreparedStatements.class);

    /** {@link #onMessage} left the frame alone: it stays in the relay's span. */
    public static final int UNCHANGED = -1;
    /** Bind's portal and statement names must lie within this many bytes of the frame. */
    private static final int BIND_NAMES_LIMIT = 64 * 1024;
    /**
     * The largest Describe or Close looked at whole. A client's statement name may be longer than
     * PostgreSQL's own limit for these messages (PQ_SMALL_MESSAGE_LIMIT, 10000 bytes): pgloom sends
     * the server its short PGLOOM_ name instead, as PgBouncer does. Anything bigger is no name a
     * Parse could have registered short of max_packet_size; it passes on for the server to refuse.
     */
    private static final int NAMED_MESSAGE_LIMIT = 1 << 20;
    /** How much of a simple query is looked at for DISCARD or DEALLOCATE. */
    private static final int QUERY_SCAN = 64;
    private static final int OUT_INITIAL = 256;
    /** A statement name that never exists, used to make the server fail at a chosen point. */
    private static final byte[] NO_STATEMENT = "PGLOOM_NONE".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CLOSE_NO_STATEMENT = new MessageBuilder('C').byte1('S').bytes(NO_STATEMENT).byte1(0).build();
    private static final byte[] DESCRIBE_NO_STATEMENT = new MessageBuilder('D').byte1('S').bytes(NO_STATEMENT).byte1(0).build();

    private final StatementRegistry registry;
    private final Pool pool;
    private final Object owner;
    /**
     * The client's named statements; made at its first named Parse (many clients never send one,
     * and an idle client's empty map would be 64 bytes of its heap). Written by the client's
     * thread; read and undone by others (SHOW CLIENTS, a server's answers).
     */
    private volatile ConcurrentHashMap<Name, ClientStatement> byName;
    private final Name probe = new Name();
    private final List<Statement> evicted = new ArrayList<>();
    /** Kinds of the messages of the current request (since the last Sync) while no window is open. */
    private byte[] pending; // made at the first such message
    private int pendingCount;
    /** Rewritten output for the server: allocated on first use, given back when it grew and the client is quiet. */
    private byte[] out;
    private int outLen;

    public PreparedStatements(StatementRegistry registry, Pool pool, Object owner) {
        this.registry = registry;
        this.pool = pool;
        this.owner = owner;
    }

    /** How many named statements the client has prepared (SHOW CLIENTS' prepared_statements). */
    public int size() {
        Map<Name, ClientStatement> m = byName;
        return m == null ? 0 : m.size();
    }

    /** A client's statement: its name and what it is on servers. */
    record ClientStatement(Name name, Statement statement) {
    }

    // ---------------------------------------------------------------- relay hooks (client thread)

    /**
     * How many bytes of a frame of {@code type} starting at {@code at} must be buffered before
     * {@link #onMessage} can look at it (0 when what is there is enough).
     */
    public int bytesNeeded(char type, byte[] buf, int at, int available, int frame) {
        return switch (type) {
            // Unnamed Parse streams like any frame; a named one is remembered whole.
            case 'P' -> available < 6 ? Math.min(frame, 6) : buf[at + 5] == 0 ? 0 : frame;
            case 'D', 'C' -> frame <= NAMED_MESSAGE_LIMIT ? frame : 0;
            case 'B' -> bindNamesEnd(buf, at, at + Math.min(available, frame)) > 0 ? 0 : Math.min(frame, BIND_NAMES_LIMIT);
            case 'Q' -> Math.min(frame, 5 + QUERY_SCAN);
            default -> 0;
        };
    }

    /**
     * Handles one client frame bound for {@code s}. Returns {@link #UNCHANGED}, or the offset in the
     * frame from which its original bytes go on as they are: the bytes from {@code spanStart} to
     * the frame and whatever replaces the frame's start are then in {@link #out} ({@code frame}
     * means the whole frame was replaced or answered here).
     */
    public int onMessage(ServerConnection s, char type, byte[] buf, int spanStart, int at, int frame, int available)
            throws ProtocolException {
        return switch (type) {
            case 'P' -> parse(s, buf, spanStart, at, frame);
            case 'B' -> bind(s, buf, spanStart, at, frame, available);
            case 'D' -> available < frame ? record(s, ResponseQueue.DESCRIBE_PORTAL) : describe(s, buf, spanStart, at, frame);
            case 'C' -> available < frame ? record(s, ResponseQueue.CLOSE) : close(s, buf, spanStart, at, frame);
            case 'E' -> record(s, ResponseQueue.EXECUTE);
            case 'S' -> record(s, ResponseQueue.SYNC);
            case 'F' -> record(s, ResponseQueue.FUNCTION_CALL);
            case 'Q' -> query(s, buf, at, Math.min(frame, available), frame);
            case 'H' -> flush(s, buf, spanStart, at);
            default -> UNCHANGED; // CopyData, CopyDone, CopyFail: answered as part of the COPY's request
        };
    }

    /** Writes the span [from, to) and anything composed before it to the server. */
    public void send(ServerConnection s, byte[] buf, int from, int to) throws IOException {
        if (pendingCount > 0 && !s.responses.isOpen()) {
            // Part of a request leaves now without its Sync: answers to it may come before the rest
            // of it is read, so from here on the server's answers are counted.
            s.responses.open(pending, pendingCount, s.requestsSent());
            pendingCount = 0;
        }
        if (outLen > 0) {
            compose(buf, from, to);
            int n = outLen;
            outLen = 0;
            s.out.write(out, 0, n);
        } else if (to > from) {
            s.out.write(buf, from, to - from);
        }
    }

    /** A new server for this client: the messages counted so far went to another (lost) one. */
    public void linked() {
        pendingCount = 0;
    }

    /** Gives back the rewrite buffer's memory while the client is quiet. */
    public void shrinkIfIdle() {
        if (outLen == 0 && out != null && out.length > OUT_INITIAL) {
            out = null;
        }
    }

    // ---------------------------------------------------------------- messages

    private int parse(ServerConnection s, byte[] buf, int spanStart, int at, int frame) {
        int nameEnd = MessageReader.indexOfNul(buf, at + 5, at + frame);
        if (nameEnd <= at + 5) {
            return record(s, ResponseQueue.PARSE); // unnamed, or malformed (the server says so)
        }
        Name name = Name.copyOf(buf, at + 5, nameEnd);
        ConcurrentHashMap<Name, ClientStatement> m = byName;
        if (m == null) {
            m = new ConcurrentHashMap<>();
            byName = m;
        }
        if (m.containsKey(name)) {
            // The client hears PostgreSQL's words; the log says it in PgBouncer's, which scripts match.
            log.info("{}: prepared statement '{}' was already prepared", owner, name);
            return fail(s, buf, spanStart, at, frame, ErrorResponse.error(SqlState.DUPLICATE_PREPARED_STATEMENT,
                    "prepared statement \"" + name + "\" already exists"));
        }
        Statement st = registry.register(Arrays.copyOfRange(buf, nameEnd + 1, at + frame));
        pool.stats.clientParses.increment();
        ClientStatement cs = new ClientStatement(name, st);
        m.put(name, cs);
        compose(buf, spanStart, at);
        ConcurrentHashMap<Name, ClientStatement> names = m;
        Runnable forget = () -> names.remove(name, cs);
        if (s.preparedStatements.has(st)) {
            add(s, ResponseQueue.ANSWER_PARSE, forget);
        } else {
            sendParse(s, st, ResponseQueue.PARSE, forget);
        }
        log.trace("{}: Parse {} as {}", owner, name, st);
        return frame;
    }

    private int bind(ServerConnection s, byte[] buf, int spanStart, int at, int frame, int available)
            throws ProtocolException {
        int limit = at + Math.min(frame, available);
        int nameEnd = bindNamesEnd(buf, at, limit);
        if (nameEnd < 0) {
            if (limit < at + frame) {
                throw new ProtocolException("Bind portal and statement names longer than " + BIND_NAMES_LIMIT + " bytes");
            }
            return record(s, ResponseQueue.BIND); // malformed: the server says so
        }
        int portalEnd = MessageReader.indexOfNul(buf, at + 5, nameEnd);
        if (nameEnd == portalEnd + 1) {
            return record(s, ResponseQueue.BIND);
        }
        Statement st = use(s, buf, spanStart, at, frame, portalEnd + 1, nameEnd, ResponseQueue.BIND);
        if (st == null) {
            return frame;
        }
        pool.stats.binds.increment();
        composeHeader('B', frame - 1 - (nameEnd - portalEnd - 1) + st.nameBytes().length);
        compose(buf, at + 5, portalEnd + 1);
        composeName(st);
        return nameEnd + 1 - at; // the parameters and formats follow unchanged
    }

    private int describe(ServerConnection s, byte[] buf, int spanStart, int at, int frame) {
        boolean statement = frame > 6 && buf[at + 5] == 'S';
        int nameEnd = frame > 6 ? MessageReader.indexOfNul(buf, at + 6, at + frame) : -1;
        if (!statement || nameEnd <= at + 6) {
            return record(s, statement ? ResponseQueue.DESCRIBE_STATEMENT : ResponseQueue.DESCRIBE_PORTAL);
        }
        Statement st = use(s, buf, spanStart, at, frame, at + 6, nameEnd, ResponseQueue.DESCRIBE_STATEMENT);
        if (st == null) {
            return frame;
        }
        composeHeader('D', 4 + 1 + st.nameBytes().length + 1);
        composeByte('S');
        composeName(st);
        return frame;
    }

    private int close(ServerConnection s, byte[] buf, int spanStart, int at, int frame) {
        boolean statement = frame > 6 && buf[at + 5] == 'S';
        int nameEnd = frame > 6 ? MessageReader.indexOfNul(buf, at + 6, at + frame) : -1;
        if (!statement || nameEnd <= at + 6) {
            return record(s, ResponseQueue.CLOSE);
        }
        probe.set(buf, at + 6, nameEnd);
        ConcurrentHashMap<Name, ClientStatement> m = byName;
        ClientStatement cs = m == null ? null : m.remove(probe);
        // Closing a name that does not exist is no error in PostgreSQL either. The server keeps its
        // copy: other clients may use it, and the LRU bound takes care of the rest.
        compose(buf, spanStart, at);
        add(s, ResponseQueue.ANSWER_CLOSE, cs == null ? null : (Runnable) () -> m.putIfAbsent(cs.name(), cs));
        return frame;
    }

    private int query(ServerConnection s, byte[] buf, int at, int have, int frame) {
        if (mentionsDrop(buf, at + 5, at + Math.min(have, 5 + QUERY_SCAN))) {
            // DISCARD ALL or DEALLOCATE sent by the client may have dropped this server's PGLOOM_
            // statements. Forgetting them is always safe: a later Parse closes the name first.
            s.preparedStatements.clear();
            if (have == frame && frame <= 5 + QUERY_SCAN && dropsAll(new String(buf, at + 5, frame - 5, StandardCharsets.ISO_8859_1))) {
                ConcurrentHashMap<Name, ClientStatement> m = byName;
                if (m != null) {
                    m.clear();
                }
            }
            log.debug("{}: the client's DISCARD/DEALLOCATE may have dropped prepared statements on {}", owner, s);
        }
        return record(s, ResponseQueue.QUERY);
    }

    /** A Flush after an answer pgloom owes: send something the server answers at once, so the answer goes out now. */
    private int flush(ServerConnection s, byte[] buf, int spanStart, int at) {
        if (!s.responses.isOpen() || !s.responses.endsWithAnswer()) {
            return UNCHANGED;
        }
        compose(buf, spanStart, at);
        add(s, ResponseQueue.HIDDEN_CLOSE, null);
        compose(CLOSE_NO_STATEMENT, 0, CLOSE_NO_STATEMENT.length);
        return 0;
    }

    /**
     * The statement a Bind or Describe names, made ready on {@code s} (its Parse composed first if
     * the server lacks it) and the message counted as {@code kind}. Null if the client has no
     * statement of that name (never prepared, or closed): PostgreSQL's error is then composed.
     */
    private Statement use(ServerConnection s, byte[] buf, int spanStart, int at, int frame, int nameStart, int nameEnd,
            byte kind) {
        ClientStatement cs = lookup(buf, nameStart, nameEnd);
        if (cs == null) {
            String name = new String(buf, nameStart, nameEnd - nameStart, StandardCharsets.UTF_8);
            fail(s, buf, spanStart, at, frame, ErrorResponse.error(SqlState.INVALID_SQL_STATEMENT_NAME,
                    "prepared statement \"" + name + "\" does not exist"));
            return null;
        }
        compose(buf, spanStart, at);
        if (!s.preparedStatements.has(cs.statement())) {
            sendParse(s, cs.statement(), ResponseQueue.HIDDEN_PARSE, null);
        }
        record(s, kind); // a rename needs no tracking: the server answers as usual
        return cs.statement();
    }

    /**
     * Fails the client's request at this message, as PostgreSQL would: the server is made to fail
     * here too (Describe of a statement just closed), so that it skips to Sync and rolls back an
     * implicit transaction, and its error is replaced by {@code error}.
     */
    private int fail(ServerConnection s, byte[] buf, int spanStart, int at, int frame, ErrorResponse error) {
        compose(buf, spanStart, at);
        add(s, ResponseQueue.HIDDEN_CLOSE, null);
        compose(CLOSE_NO_STATEMENT, 0, CLOSE_NO_STATEMENT.length);
        add(s, ResponseQueue.ANSWER_ERROR, error.encode());
        compose(DESCRIBE_NO_STATEMENT, 0, DESCRIBE_NO_STATEMENT.length);
        if (owner instanceof ClientSession client) {
            client.poolerError(error, null);
        } else {
            log.debug("{}: {}", owner, error);
        }
        return frame;
    }

    /**
     * Composes the Parse of {@code st} for {@code s}: Closes for what it evicts, a Close of its own
     * name (so that a server pgloom's cache is wrong about never answers "already exists"), then
     * the Parse. If the Parse never takes effect, the cache entry and {@code alsoUndo} are taken back.
     */
    private void sendParse(ServerConnection s, Statement st, byte kind, Runnable alsoUndo) {
        ServerStatementCache cache = s.preparedStatements;
        pool.stats.serverParses.increment();
        evicted.clear();
        Object token = cache.add(st, pool.settings().maxPreparedStatements(), evicted);
        for (Statement gone : evicted) {
            add(s, ResponseQueue.HIDDEN_CLOSE, (Runnable) () -> cache.restore(gone));
            byte[] close = gone.closeMessage();
            compose(close, 0, close.length);
            log.trace("{}: {} evicts {}", owner, s, gone);
        }
        evicted.clear();
        byte[] close = st.closeMessage();
        add(s, ResponseQueue.HIDDEN_CLOSE, null);
        compose(close, 0, close.length);
        add(s, kind, (Runnable) () -> {
            cache.undoAdd(st, token);
            if (alsoUndo != null) {
                alsoUndo.run();
            }
        });
        byte[] parse = st.parseMessage();
        compose(parse, 0, parse.length);
    }

    // ---------------------------------------------------------------- response bookkeeping

    /** A message the server answers as usual: counted only while a window is open. */
    private int record(ServerConnection s, byte kind) {
        boolean endsRequest = kind == ResponseQueue.SYNC || kind == ResponseQueue.QUERY || kind == ResponseQueue.FUNCTION_CALL;
        if (s.responses.isOpen()) {
            s.responses.add(kind, null, endsRequest ? s.requestsSent() - 1 : s.requestsSent());
        } else if (endsRequest) {
            pendingCount = 0;
        } else {
            if (pending == null) {
                pending = new byte[16];
            } else if (pendingCount == pending.length) {
                pending = Arrays.copyOf(pending, pendingCount * 2);
            }
            pending[pendingCount++] = kind;
        }
        return UNCHANGED;
    }

    /** An entry pgloom must see answered: opens a window if none is, starting with this request's earlier messages. */
    private void add(ServerConnection s, byte kind, Object payload) {
        if (pendingCount > 0) {
            s.responses.open(pending, pendingCount, s.requestsSent());
            pendingCount = 0;
        }
        s.responses.add(kind, payload, s.requestsSent());
    }

    private ClientStatement lookup(byte[] buf, int from, int to) {
        ConcurrentHashMap<Name, ClientStatement> m = byName;
        return m == null ? null : m.get(probe.set(buf, from, to));
    }

    // ---------------------------------------------------------------- composing

    private void compose(byte[] b, int from, int to) {
        int n = to - from;
        if (n <= 0) {
            return;
        }
        reserve(n);
        System.arraycopy(b, from, out, outLen, n);
        outLen += n;
    }

    private void composeByte(int v) {
        reserve(1);
        out[outLen++] = (byte) v;
    }

    private void reserve(int n) {
        if (out == null) {
            out = new byte[Math.max(OUT_INITIAL, n)];
        } else if (outLen + n > out.length) {
            out = Arrays.copyOf(out, Math.max(out.length * 2, outLen + n));
        }
    }

    private void composeName(Statement st) {
        byte[] name = st.nameBytes();
        compose(name, 0, name.length);
        composeByte(0);
    }

    private void composeHeader(char type, int length) {
        composeByte(type);
        byte[] l = new byte[4];
        Bytes.putInt32(l, 0, length);
        compose(l, 0, 4);
    }

    // ---------------------------------------------------------------- parsing helpers

    /** Index of the NUL ending Bind's statement name (after its portal name), or -1 if not within [at+5, to). */
    private static int bindNamesEnd(byte[] b, int at, int to) {
        int portalEnd = MessageReader.indexOfNul(b, at + 5, to);
        return portalEnd < 0 ? -1 : MessageReader.indexOfNul(b, portalEnd + 1, to);
    }

    /** Whether SQL text mentions DISCARD or DEALLOCATE (ASCII, any case). */
    static boolean mentionsDrop(byte[] b, int from, int to) {
        // One pass over the query (every simple query comes through here): only a D starts either word.
        for (int i = from; i + 7 <= to; i++) {
            if ((b[i] | 0x20) == 'd' && (startsWithIgnoreCase(b, i, to, "DISCARD") || startsWithIgnoreCase(b, i, to, "DEALLOCATE"))) {
                return true;
            }
        }
        return false;
    }

    public static boolean mentionsDrop(String sql) {
        byte[] b = sql.getBytes(StandardCharsets.UTF_8);
        return mentionsDrop(b, 0, b.length);
    }

    /** Whether a whole simple query is DISCARD ALL or DEALLOCATE [PREPARE] ALL, which drop every statement of the session. */
    static boolean dropsAll(String text) {
        String t = text.replace("\0", "").trim().toUpperCase(Locale.ROOT);
        while (t.endsWith(";")) {
            t = t.substring(0, t.length() - 1).trim();
        }
        t = t.replaceAll("\\s+", " ");
        return t.equals("DISCARD ALL") || t.equals("DEALLOCATE ALL") || t.equals("DEALLOCATE PREPARE ALL");
    }

    /** Whether {@code b[at, to)} starts with {@code word} (upper case), any case. */
    private static boolean startsWithIgnoreCase(byte[] b, int at, int to, String word) {
        int n = word.length();
        if (at + n > to) {
            return false;
        }
        for (int j = 0; j < n; j++) {
            int c = b[at + j];
            if (c >= 'a' && c <= 'z') {
                c -= 32;
            }
            if (c != word.charAt(j)) {
                return false;
            }
        }
        return true;
    }

    /**
     * A statement name as bytes. Stored names own their bytes; the client thread's probe points into
     * the read buffer for an allocation-free lookup on every Bind.
     */
    static final class Name {
        private byte[] bytes;
        private int from;
        private int to;
        private int hash;

        static Name copyOf(byte[] b, int from, int to) {
            return new Name().set(Arrays.copyOfRange(b, from, to), 0, to - from);
        }

        Name set(byte[] b, int from, int to) {
            this.bytes = b;
            this.from = from;
            this.to = to;
            int h = 1;
            for (int i = from; i < to; i++) {
                h = 31 * h + b[i];
            }
            this.hash = h;
            return this;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Name n && n.hash == hash && Arrays.equals(bytes, from, to, n.bytes, n.from, n.to);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public String toString() {
            return new String(bytes, from, to - from, StandardCharsets.UTF_8);
        }
    }
}
