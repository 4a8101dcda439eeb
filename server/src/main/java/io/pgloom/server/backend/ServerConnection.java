package io.pgloom.server.backend;

import io.pgloom.server.frontend.ClientSession;
import io.pgloom.server.pool.CancelsInFlight;
import io.pgloom.server.pool.ConnectionView;
import io.pgloom.server.pool.Pool;
import io.pgloom.server.pool.PoolStats;
import io.pgloom.server.statements.PreparedStatements;
import io.pgloom.server.statements.ResponseQueue;
import io.pgloom.server.statements.ServerStatementCache;
import io.pgloom.wire.backend.BackendConnection;
import io.pgloom.wire.backend.BackendConnector;
import io.pgloom.wire.backend.BackendOptions;
import io.pgloom.wire.backend.Endpoint;
import io.pgloom.wire.backend.ServerCredentials;
import io.pgloom.wire.protocol.Bytes;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.FrameReader;
import io.pgloom.wire.protocol.Frontend;
import io.pgloom.wire.protocol.MessageBuilder;
import io.pgloom.wire.protocol.ParameterStatus;
import io.pgloom.wire.protocol.PgloomError;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to a PostgreSQL server.
 *
 * <p>Threading: {@link #open} runs on the thread that needs the connection (a client's thread or
 * the pool's maintenance) and logs in through {@link BackendConnector}. After login, the
 * connection's own virtual thread runs {@link #readLoop} for the connection's whole life: it
 * relays server frames to the linked client, and while the connection idles in the pool it stays
 * blocked in read, so a server that closes or crashes is noticed at once. Writes to the server
 * come from the one thread that holds the link (the linked client's thread), so each direction
 * has exactly one writer.
 */
public final class ServerConnection {
    private static final Logger log = LoggerFactory.getLogger(ServerConnection.class);
    private static final AtomicInteger IDS = new AtomicInteger();

    public final int id = IDS.incrementAndGet();
    public final Pool pool;
    public final String host;
    public final int port;
    public final Endpoint endpoint;
    /** What opened this connection: cancels for its backend go the same way. */
    public final BackendConnector connector;
    private final Socket socket;
    public final OutputStream out;
    private final FrameReader reader;
    /** This end's address, taken once: Socket#getLocalAddress takes the socket's state lock, which every read and write take too. */
    private final String localAddr;
    private final int localPort;
    /** The server's current values of the parameters it reports (ParameterStatus). */
    public final Map<String, String> parameters;
    public final int backendPid;
    public final int backendSecret;
    final long createdNanos = System.nanoTime();
    /** Jittered so that connections opened together do not all expire together. */
    final long lifetimeNanos;
    public volatile long idleSinceNanos = System.nanoTime();

    /** The linked client's {@link Link}, null while unlinked: written by that Link under its lock, read here and by views without it. */
    volatile Link link;
    /** Requests pgloom itself sent (SET, reset, check) whose answers end with a ReadyForQuery to swallow. */
    public volatile int internalPending;
    /** Set when the internal request in flight is the reset on the way back to the pool. */
    public volatile boolean releaseAfterInternal;
    public volatile char transactionStatus = 'I';
    /** Cancel requests in flight against this backend; it must not be handed on until they finish. */
    public final CancelsInFlight cancelsInFlight = new CancelsInFlight();
    public volatile boolean closed;
    /** RECONNECT asked for this connection to be closed when released (SHOW SERVERS' close_needed). */
    public volatile boolean closeNeeded;
    private volatile String closeReason;

    // server_check_query in flight: sent by the client thread that took this connection from the
    // pool, answered through this connection's reader thread. Guarded by checkLock.
    private final ReentrantLock checkLock = new ReentrantLock();
    private final Condition checkAnswered = checkLock.newCondition();
    private boolean checkRunning;
    private String checkFailure;
    /** The request's first ErrorResponse, its RowDescription's column count (-1: none) and its DataRow bodies. */
    private ErrorResponse checkError;
    private int checkColumns;
    private List<byte[]> checkRows = List.of();
    /**
     * Out of the pool for a check: its checker, not {@link Pool#discard}, settles its slot. Written
     * under the pool's lock; volatile so that views (sv_tested) read it without the lock.
     */
    public volatile boolean beingChecked;
    /** In the pool's idle list. Written under the pool's lock where the list changes; read by views without it. */
    public volatile boolean inIdle;

    /** The PGLOOM_ statements this server has prepared for clients in transaction and statement mode. */
    public final ServerStatementCache preparedStatements = new ServerStatementCache();
    /** What the linked client is owed while pgloom answers or hides some of its messages. */
    public final ResponseQueue responses = new ResponseQueue();
    /**
     * Requests written to this server that end with a ReadyForQuery (Sync, Query, FunctionCall,
     * pgloom's own queries), counted by whichever thread holds the link when it writes them.
     */
    private long requestsSent;
    /** ReadyForQuery messages read from this server: the reader thread's own count. */
    private long readySeen;

    private ServerConnection(Pool pool, BackendConnector connector, BackendConnection login) {
        this.pool = pool;
        this.connector = connector;
        this.endpoint = login.endpoint();
        this.host = endpoint.host();
        this.port = endpoint.port();
        this.socket = login.socket();
        this.out = login.out();
        this.reader = login.reader();
        this.parameters = new HashMap<>(login.parameters());
        this.backendPid = login.processId();
        this.backendSecret = login.secretKey();
        this.transactionStatus = login.transactionStatus();
        this.localAddr = socket.getLocalAddress().getHostAddress();
        this.localPort = socket.getLocalPort();
        long lifetime = pool.settings().serverLifetime().toNanos();
        this.lifetimeNanos = lifetime <= 0 ? Long.MAX_VALUE
                : lifetime - (long) (ThreadLocalRandom.current().nextDouble(0, 0.1) * lifetime);
    }

    /**
     * Connects and logs in. Returns a connection ready for queries (its reader thread not started
     * yet), or throws {@link PgloomError} carrying the server's own login error, or IOException when
     * the server cannot be reached.
     */
    public static ServerConnection open(Pool pool, Endpoint endpoint, String database, Map<String, String> startupParameters,
            ServerCredentials credentials, int connectTimeoutMillis) throws IOException, PgloomError {
        BackendConnector connector = new BackendConnector(new BackendOptions(connectTimeoutMillis, pool.settings().tcpKeepalive()));
        BackendConnection login = connector.login(endpoint, database, startupParameters, credentials);
        try {
            return new ServerConnection(pool, connector, login);
        } catch (RuntimeException e) {
            try {
                login.socket().close();
            } catch (IOException ignored) {
                // already failing
            }
            throw e;
        }
    }

    /**
     * Runs a query before the reader thread starts (connect_query) and reads its answers on this
     * thread. A failing connect_query makes the connection unusable.
     */
    public void runBeforeReader(String sql) throws IOException {
        out.write(new MessageBuilder('Q').cstring(sql).build());
        out.flush();
        ErrorResponse failed = null;
        while (true) {
            FrameReader.Message m = reader.readMessage(1 << 24);
            if (m.type() == 'E') {
                failed = ErrorResponse.decode(m.body(), 0, m.body().length);
            } else if (m.type() == 'S') {
                ParameterStatus p = ParameterStatus.decode(m.body(), 0, m.body().length);
                parameters.put(p.name(), p.value());
            } else if (m.type() == 'Z') {
                transactionStatus = (char) m.body()[0];
                break;
            }
        }
        if (failed != null) {
            throw new IOException("connect_query failed: " + failed);
        }
    }

    /** Writes a request pgloom itself composed (SET, reset, check); its answer is swallowed. */
    public void sendInternal(String sql) throws IOException {
        if (PreparedStatements.mentionsDrop(sql)) {
            preparedStatements.clear(); // server_reset_query DISCARD ALL (the default) drops them all
        }
        sendInternal(Frontend.query(sql));
    }

    /** Writes one request of pgloom's own that ends with exactly one ReadyForQuery; its answer is swallowed. */
    private void sendInternal(byte[] request) throws IOException {
        internalPending++;
        requestsSent++;
        out.write(request);
        out.flush();
    }

    /**
     * Gives this connection back to its pool; with {@code reset}, first runs server_reset_query
     * (if one is set), and the reader thread gives it back after the reset's ReadyForQuery. Only
     * the thread that just unlinked it may call this: it is then the connection's only writer.
     */
    public void giveBack(boolean reset) {
        String query = pool.settings().serverResetQuery();
        if (!reset || query == null || query.isBlank()) {
            pool.release(this);
            return;
        }
        try {
            releaseAfterInternal = true;
            sendInternal(query);
        } catch (IOException e) {
            close("server_reset_query failed: " + e.getMessage());
        }
    }

    /**
     * Runs server_check_query on this connection, just taken idle from the pool, and waits for the
     * reader thread to swallow the answer. Runs on the client thread that wants the connection.
     *
     * @return null if the server answered without error and outside a transaction, else why the
     *         check failed: the server's error, the connection's end, or no answer in time
     */
    public String check(String sql, long timeoutNanos) throws InterruptedException {
        return ask(() -> sendInternal(sql), timeoutNanos).failure();
    }

    /**
     * The answer to a request of pgloom's own on a connection taken from the pool.
     *
     * @param failure null if the server answered without error and outside a transaction, else why not
     * @param error   the server's ErrorResponse, if it sent one
     * @param columns the RowDescription's column count, -1 if none came
     * @param rows    the DataRow bodies, in order
     */
    public record Answer(String failure, ErrorResponse error, int columns, List<byte[]> rows) {
    }

    /**
     * Runs {@code sql} with one text parameter over the extended protocol (auth_query) on this
     * connection, just taken from the pool, and waits for the reader thread to collect the answer.
     * Runs on the client thread that took the connection. The parameter goes as UTF-8, so the
     * session is switched to UTF8 first if a client left it in another encoding.
     */
    public Answer query(String sql, String param, long timeoutNanos) throws InterruptedException {
        byte[] request = Frontend.extendedQuery(sql, param);
        boolean utf8 = "UTF8".equalsIgnoreCase(parameters.get("client_encoding"));
        return ask(() -> {
            if (!utf8) {
                sendInternal(Frontend.query("SET client_encoding = 'UTF8'"));
            }
            sendInternal(request);
        }, timeoutNanos);
    }

    /** Writes requests of pgloom's own. */
    @FunctionalInterface
    private interface Request {
        void send() throws IOException;
    }

    /** Sends {@code request} and waits until its answers are swallowed, or {@code timeoutNanos} passed. */
    private Answer ask(Request request, long timeoutNanos) throws InterruptedException {
        checkLock.lock();
        try {
            checkRunning = true;
            checkFailure = null;
            checkError = null;
            checkColumns = -1;
            checkRows = new ArrayList<>();
        } finally {
            checkLock.unlock();
        }
        try {
            request.send();
        } catch (IOException e) {
            finishCheck("cannot send it: " + e.getMessage());
        }
        checkLock.lock();
        try {
            long left = timeoutNanos;
            while (checkRunning) {
                if (left <= 0) {
                    checkRunning = false;
                    return new Answer("no answer within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos)
                            + " ms (server_connect_timeout)", checkError, checkColumns, checkRows);
                }
                left = checkAnswered.awaitNanos(left);
            }
            return new Answer(checkFailure, checkError, checkColumns, checkRows);
        } finally {
            checkLock.unlock();
        }
    }

    /** A RowDescription or DataRow answering a request of pgloom's own: kept for {@link #ask}. */
    private void collect(char type, byte[] buf, int from, int to) {
        checkLock.lock();
        try {
            if (!checkRunning) {
                return;
            }
            if (type == 'T') {
                checkColumns = to - from >= 2 ? ((buf[from] & 0xff) << 8) | (buf[from + 1] & 0xff) : 0;
            } else {
                checkRows.add(java.util.Arrays.copyOfRange(buf, from, to));
            }
        } finally {
            checkLock.unlock();
        }
    }

    /** The check's answer is complete or cannot come: keep the first failure, wake the checker. */
    private void finishCheck(String failure) {
        checkLock.lock();
        try {
            if (!checkRunning) {
                return;
            }
            if (checkFailure == null) {
                checkFailure = failure;
            }
            checkRunning = false;
            checkAnswered.signal();
        } finally {
            checkLock.unlock();
        }
    }

    /** An ErrorResponse to a swallowed request: true if it answers a check (which then fails). */
    private boolean failsCheck(ErrorResponse error) {
        checkLock.lock();
        try {
            if (checkRunning && checkFailure == null) {
                checkFailure = "server answered " + error;
                checkError = error;
            }
            return checkRunning;
        } finally {
            checkLock.unlock();
        }
    }

    /** The connection's reader thread: relays until the connection closes. */
    void readLoop() {
        String reason = "server closed the connection";
        try {
            relay();
        } catch (EOFException e) {
            reason = "server closed the connection unexpectedly";
        } catch (SocketException e) {
            reason = closed ? closeReasonOr("closed by pgloom") : "server connection lost: " + e.getMessage();
        } catch (IOException e) {
            reason = "server connection failed: " + e.getMessage();
        } finally {
            boolean wasClosed = closed;
            close(reason);
            finishCheck(reason);
            responses.abandon();
            Link l = link;
            if (l != null) {
                l.client().serverLost(this, reason);
            }
            String why = wasClosed ? closeReasonOr(reason) : reason;
            if (pool.settings().logDisconnections()) {
                // One line per server connection, whoever ended it, as for clients.
                log.info("{} {}: closing because: {} (age={})", this, pool.key(), why,
                        ClientSession.age(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - createdNanos)));
            }
            pool.metrics().serverClosed(pool.key(), why);
            pool.discard(this);
        }
    }

    private String closeReasonOr(String dflt) {
        String r = closeReason;
        return r == null ? dflt : r;
    }

    private void relay() throws IOException {
        FrameReader r = reader;
        ResponseQueue owed = responses;
        PoolStats stats = pool.stats;
        long sent = 0; // bytes of frames handled since the last add to the pool's counter
        while (true) {
            if (sent > 0) {
                stats.bytesSent.add(sent);
                sent = 0;
            }
            if (!r.fill()) {
                throw new EOFException();
            }
            byte[] buf = r.buffer();
            int spanStart = r.position();
            int wholeFrame = 0;
            while (r.available() >= 5) {
                int at = r.position();
                char type = (char) (buf[at] & 0xff);
                int len = Bytes.int32(buf, at + 1);
                if (len < 4) {
                    throw new IOException("server sent a message with invalid length " + len);
                }
                int frame = len + 1;
                boolean swallow = internalPending > 0;
                // Fast path: a volatile read says no window is open and the frame passes untouched.
                boolean tracked = !swallow && owed.tracks(readySeen);
                boolean inspect = swallow || type == 'Z' || type == 'S' || type == 'E' || link == null;
                if (r.available() < frame) {
                    if (inspect || frame <= r.buffer().length) {
                        // Needed whole: flush what came before it, keep its start, read more.
                        flushSpan(buf, spanStart, at);
                        spanStart = at;
                        wholeFrame = frame;
                        break;
                    }
                    // A big frame we only pass on (DataRow, CopyData): stream it through.
                    sent += frame;
                    if (tracked) {
                        if (owed.onResponse(type) != ResponseQueue.PASS) {
                            throw lostTrack(type);
                        }
                        spanStart = writeAnswers(owed.before(), buf, spanStart, at);
                    }
                    flushSpan(buf, spanStart, r.limit());
                    int remaining = frame - r.available();
                    r.advance(r.available());
                    r.passThrough(remaining, (b, off, n) -> flushSpan(b, off, off + n));
                    buf = r.buffer();
                    spanStart = r.position();
                    if (tracked) {
                        writeAnswers(owed.after(), buf, spanStart, spanStart);
                    }
                    continue;
                }
                sent += frame;
                Link l = link;
                ClientSession c = l == null ? null : l.client();
                if (c == null && !swallow) {
                    throw new IOException("server sent '" + FrameReader.printable(type) + "' while idle in the pool");
                }
                if (type == 'S') {
                    ParameterStatus p = ParameterStatus.decode(buf, at + 5, at + frame);
                    parameters.put(p.name(), p.value());
                    if (c != null) {
                        c.parameterChanged(p.name(), p.value());
                    }
                }
                if (swallow) {
                    flushSpan(buf, spanStart, at);
                    r.advance(frame);
                    spanStart = r.position();
                    if (type == 'T' || type == 'D') {
                        collect(type, buf, at + 5, at + frame);
                    } else if (type == 'E') {
                        ErrorResponse error = ErrorResponse.decode(buf, at + 5, at + frame);
                        if (!failsCheck(error)) {
                            log.warn("S-{} {}: internal query failed: {}", id, pool.key(), error);
                        }
                    } else if (type == 'Z') {
                        readySeen++;
                        transactionStatus = (char) buf[at + 5];
                        internalPending--;
                        if (internalPending == 0 && releaseAfterInternal) {
                            // The reset on the way back to the pool finished. (A SET sent while linking
                            // also ends here, before the client is linked: that must not release.)
                            releaseAfterInternal = false;
                            pool.release(this);
                        } else if (internalPending == 0) {
                            finishCheck(transactionStatus == 'I' ? null : "it left a transaction open");
                        }
                    }
                    continue;
                }
                if (tracked) {
                    int action = owed.onResponse(type);
                    spanStart = writeAnswers(owed.before(), buf, spanStart, at);
                    if (action == ResponseQueue.LOST) {
                        throw lostTrack(type);
                    }
                    r.advance(frame);
                    if (action != ResponseQueue.PASS) {
                        // pgloom's own message's answer (SWALLOW), or the server's error standing in for the client's (REPLACE).
                        flushSpan(buf, spanStart, at);
                        spanStart = r.position();
                        if (action == ResponseQueue.REPLACE) {
                            byte[] error = owed.replacement();
                            c.writeFromServer(this, error, 0, error.length);
                        }
                    }
                    spanStart = writeAnswers(owed.after(), buf, spanStart, r.position());
                } else {
                    r.advance(frame);
                }
                if (type == 'Z') {
                    readySeen++;
                    char status = (char) buf[at + 5];
                    transactionStatus = status;
                    // The client gets this span, ending with ReadyForQuery, from serverReady: after
                    // the server is back in the pool, so a client that answers at once finds it there.
                    c.serverReady(this, status, buf, spanStart, r.position());
                    spanStart = r.position();
                }
            }
            flushSpan(buf, spanStart, r.position());
            if (wholeFrame > 0) {
                r.ensureFits(wholeFrame);
            }
        }
    }

    /**
     * Writes answers pgloom owes the client at position {@code at} of the buffer: the span before
     * it first. Returns the new span start.
     */
    private int writeAnswers(ResponseQueue.Frames answers, byte[] buf, int spanStart, int at) throws IOException {
        if (answers.isEmpty()) {
            return spanStart;
        }
        flushSpan(buf, spanStart, at);
        Link l = link;
        if (l != null) {
            l.client().writeFromServer(this, answers.bytes(), 0, answers.length());
        }
        return at;
    }

    private IOException lostTrack(char type) {
        return new IOException("lost track of the answers owed to the client (unexpected '" + FrameReader.printable(type) + "')");
    }

    private void flushSpan(byte[] buf, int from, int to) throws IOException {
        if (to > from) {
            Link l = link;
            if (l != null) {
                l.client().writeFromServer(this, buf, from, to - from);
            }
        }
    }

    /** The linked client's Link, null while none holds this connection; no lock. */
    public Link link() {
        return link;
    }

    /** Requests sent that end with a ReadyForQuery (see {@link ResponseQueue}); read by the thread holding the link. */
    public long requestsSent() {
        return requestsSent;
    }

    /** The thread holding the link wrote a request that ends with a ReadyForQuery. */
    void countRequestSent() {
        requestsSent++;
    }

    /** Starts this connection's reader thread in its pool's scope. */
    public void startReader() {
        if (!pool.scope().start("server-" + id + "-" + pool.key(), this::readLoop)) {
            close("pool is closing");
        }
    }

    public boolean expired(long now) {
        return now - createdNanos > lifetimeNanos;
    }

    /** Closes the socket; the reader thread then ends and tells the pool. Idempotent. */
    public void close(String reason) {
        if (closed) {
            return;
        }
        closeReason = reason;
        closed = true;
        try {
            // Terminate tells the server to end the backend cleanly, rolling back what is open.
            out.write(new byte[] {'X', 0, 0, 0, 4});
            out.flush();
        } catch (IOException ignored) {
            // the server may already be gone
        }
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing more to do
        }
    }

    /**
     * This connection as a SHOW SERVERS row, read without any lock: volatile fields, and the
     * server's reported parameters (application_name follows the linked client's), a map whose
     * keys are all set at login and whose values only this connection's reader thread replaces.
     */
    public ConnectionView view(String state, long now, long nowMillis) {
        Link l = link;
        ClientSession c = l == null ? null : l.client();
        long started = l == null ? 0 : l.queryStartNanos();
        long lastRequest = started != 0 ? started : idleSinceNanos;
        return new ConnectionView("S", pool.key().user(), pool.key().database(), state, host, port,
                localAddr, localPort,
                ConnectionView.epochMillis(createdNanos, now, nowMillis), ConnectionView.epochMillis(lastRequest, now, nowMillis),
                0, closed || closeNeeded, "S-" + id, c == null ? "" : c.ptr(), backendPid,
                c == null ? "" : parameters.getOrDefault("application_name", ""), preparedStatements.size(), id);
    }

    @Override
    public String toString() {
        return "S-" + id + "(" + host + ":" + port + " pid " + backendPid + ")";
    }
}
