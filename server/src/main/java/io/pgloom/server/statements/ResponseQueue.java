package io.pgloom.server.statements;

import java.util.Arrays;
import java.util.concurrent.locks.ReentrantLock;

/**
 * What a server connection owes its client, message by message, while pgloom answers or hides
 * part of the client's extended-query traffic (named prepared statements in transaction mode).
 *
 * <p>Threading: the linked client's thread appends, in the order it sends (it is the only writer
 * to the server); the server's reader thread consumes, in the order the server answers. One
 * uncontended lock guards the entries. {@link #tracks} is read on every server frame and costs a
 * volatile read while no window is open: that is the fast path, where server frames pass through
 * untouched.
 *
 * <p>A <em>window</em> opens when the client sends something whose answer pgloom must fake, hide
 * or replace, and closes when everything in it has been answered. It starts after a known number
 * of ReadyForQuery messages ({@link #tracks}): the answers to requests sent before it pass through
 * uncounted. Inside a window every message the client sends gets an entry, so the answer to each
 * is known by position.
 *
 * <p>Errors follow the server: after an ErrorResponse to an extended-query message, PostgreSQL
 * skips every message up to Sync. The entries it skips are dropped at the Sync's ReadyForQuery,
 * and what pgloom had assumed of them (a client statement, a server cache entry) is taken back.
 * Answers pgloom owed before the failing message are still sent, before the error.
 */
public final class ResponseQueue {
    // Messages the server answers itself; the client sees the answers.
    static final byte PARSE = 1;
    static final byte BIND = 2;
    static final byte CLOSE = 3;
    static final byte DESCRIBE_STATEMENT = 4;
    static final byte DESCRIBE_PORTAL = 5;
    static final byte EXECUTE = 6;
    static final byte SYNC = 7;
    static final byte QUERY = 8;
    static final byte FUNCTION_CALL = 9;
    // Messages pgloom sent on its own: the server answers, the client must not see it.
    static final byte HIDDEN_PARSE = 10;
    static final byte HIDDEN_CLOSE = 11;
    // Client messages pgloom did not send: pgloom answers them at this position.
    static final byte ANSWER_PARSE = 12;
    static final byte ANSWER_CLOSE = 13;
    /** A Describe pgloom sent to make the server fail here; its error is replaced by the client's. */
    static final byte ANSWER_ERROR = 14;

    /** What to do with one server frame. */
    public static final int PASS = 0;
    static final int SWALLOW = 1;
    public static final int REPLACE = 2;
    /** The frame does not fit what the client is owed: the connection can no longer be trusted. */
    public static final int LOST = 3;

    private static final byte[] PARSE_COMPLETE = {'1', 0, 0, 0, 4};
    private static final byte[] CLOSE_COMPLETE = {'3', 0, 0, 0, 4};

    private final ReentrantLock lock = new ReentrantLock();
    private byte[] kinds = new byte[16];
    /** Per entry: a Runnable that takes back what pgloom assumed if the message never took effect, or the error bytes of ANSWER_ERROR. */
    private Object[] payloads = new Object[16];
    private int head;
    private int size;
    /** The server is skipping messages until Sync after an error. */
    private boolean skipping;
    private volatile boolean open;
    /** The window's first entry is answered after this many ReadyForQuery messages from the server. */
    private volatile long startAfterReady;

    // The server thread's outcome of the last onResponse: answers to write before and after the frame.
    private final Frames before = new Frames();
    private final Frames after = new Frames();
    private byte[] replacement;

    // ---------------------------------------------------------------- client thread

    public boolean isOpen() {
        return open;
    }

    /**
     * Appends one entry. If no window is open, this opens one that starts after
     * {@code readyBefore} ReadyForQuery messages: the requests the client sent before this message.
     */
    void add(byte kind, Object payload, long readyBefore) {
        lock.lock();
        try {
            startIfClosed(readyBefore);
            push(kind, payload);
        } finally {
            lock.unlock();
        }
    }

    /** Opens a window whose first entries are the plain messages {@code kinds[0..n)} already processed. */
    void open(byte[] pending, int n, long readyBefore) {
        lock.lock();
        try {
            startIfClosed(readyBefore);
            for (int i = 0; i < n; i++) {
                push(pending[i], null);
            }
        } finally {
            lock.unlock();
        }
    }

    private void startIfClosed(long readyBefore) {
        if (!open) {
            startAfterReady = readyBefore;
            open = true;
        }
    }

    /** True if the last entry is an answer nothing after it will push out (a Flush needs a server reply then). */
    boolean endsWithAnswer() {
        lock.lock();
        try {
            if (size == 0) {
                return false;
            }
            byte k = kinds[(head + size - 1) & (kinds.length - 1)];
            return k == ANSWER_PARSE || k == ANSWER_CLOSE;
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- server thread

    /** Whether the server frame about to be handled must go through {@link #onResponse}. */
    public boolean tracks(long readySeen) {
        return open && readySeen >= startAfterReady;
    }

    /**
     * Matches one server frame of {@code type} against what the client is owed and returns PASS,
     * SWALLOW, REPLACE or LOST. Answers pgloom owes before and after the frame are then in
     * {@link #before()} and {@link #after()}; the replacement frame in {@link #replacement()}.
     */
    public int onResponse(char type) {
        lock.lock();
        try {
            before.clear();
            after.clear();
            replacement = null;
            if (skipping) {
                if (type != 'Z') {
                    return PASS; // notices and the like: the server answers nothing else while skipping
                }
                dropUntilSync();
                skipping = false;
            } else {
                answerAtHead(before);
            }
            return match(type);
        } finally {
            open = size > 0 || skipping;
            lock.unlock();
        }
    }

    private int match(char type) {
        if (type == 'N' || type == 'A' || type == 'S') {
            return PASS; // NoticeResponse, NotificationResponse, ParameterStatus come at any time
        }
        if (size == 0) {
            return type == 'E' ? PASS : LOST;
        }
        byte k = kinds[head];
        if (type == 'E') {
            if (k == SYNC || k == QUERY || k == FUNCTION_CALL) {
                return PASS; // no skipping after these; their ReadyForQuery follows
            }
            Object p = pop();
            skipping = true;
            if (k == ANSWER_ERROR) {
                replacement = (byte[]) p;
                return REPLACE;
            }
            undo(p);
            return PASS;
        }
        if (type == 'Z') {
            if (k != SYNC && k != QUERY && k != FUNCTION_CALL) {
                return LOST;
            }
            return complete(PASS);
        }
        if (k == QUERY) {
            return PASS; // a simple query's answers, whatever they are, end with its ReadyForQuery
        }
        return switch (type) {
            case '1' -> k == PARSE ? complete(PASS) : k == HIDDEN_PARSE ? complete(SWALLOW) : LOST;
            case '2' -> k == BIND ? complete(PASS) : LOST;
            case '3' -> k == CLOSE ? complete(PASS) : k == HIDDEN_CLOSE ? complete(SWALLOW) : LOST;
            case 't' -> k == DESCRIBE_STATEMENT ? PASS : LOST;
            case 'T', 'n' -> k == DESCRIBE_STATEMENT || k == DESCRIBE_PORTAL ? complete(PASS) : LOST;
            case 'C', 'I', 's' -> k == EXECUTE ? complete(PASS) : LOST;
            // DataRow, COPY messages, FunctionCallResponse: part of the answer in progress.
            default -> k == EXECUTE || k == FUNCTION_CALL ? PASS : LOST;
        };
    }

    private int complete(int action) {
        pop();
        answerAtHead(after);
        return action;
    }

    /** Answers pgloom owes at the head of the queue: everything before them has been answered. */
    private void answerAtHead(Frames out) {
        while (size > 0 && (kinds[head] == ANSWER_PARSE || kinds[head] == ANSWER_CLOSE)) {
            out.add(kinds[head] == ANSWER_PARSE ? PARSE_COMPLETE : CLOSE_COMPLETE);
            pop();
        }
    }

    /** The server skipped everything up to the Sync: none of it took effect. */
    private void dropUntilSync() {
        while (size > 0 && kinds[head] != SYNC) {
            undo(pop());
        }
    }

    /** The connection is gone: nothing in flight took effect. */
    public void abandon() {
        lock.lock();
        try {
            while (size > 0) {
                undo(pop());
            }
            skipping = false;
            open = false;
        } finally {
            lock.unlock();
        }
    }

    public Frames before() {
        return before;
    }

    public Frames after() {
        return after;
    }

    public byte[] replacement() {
        return replacement;
    }

    private static void undo(Object payload) {
        if (payload instanceof Runnable r) {
            r.run();
        }
    }

    private void push(byte kind, Object payload) {
        if (size == kinds.length) {
            byte[] k = new byte[size * 2];
            Object[] p = new Object[size * 2];
            for (int i = 0; i < size; i++) {
                k[i] = kinds[(head + i) & (kinds.length - 1)];
                p[i] = payloads[(head + i) & (kinds.length - 1)];
            }
            kinds = k;
            payloads = p;
            head = 0;
        }
        int at = (head + size) & (kinds.length - 1);
        kinds[at] = kind;
        payloads[at] = payload;
        size++;
    }

    private Object pop() {
        Object p = payloads[head];
        payloads[head] = null;
        head = (head + 1) & (kinds.length - 1);
        size--;
        return p;
    }

    /** Synthetic frames to write, in order; reused by the server thread. */
    public static final class Frames {
        private byte[] bytes = new byte[20];
        private int length;

        void clear() {
            length = 0;
        }

        void add(byte[] frame) {
            if (length + frame.length > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + frame.length));
            }
            System.arraycopy(frame, 0, bytes, length, frame.length);
            length += frame.length;
        }

        public boolean isEmpty() {
            return length == 0;
        }

        public byte[] bytes() {
            return bytes;
        }

        public int length() {
            return length;
        }
    }
}
