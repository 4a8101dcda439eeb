package io.pgloom.server.backend;

import io.pgloom.server.net.SocketIds;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.server.pool.CancelsInFlight;
import io.pgloom.server.pool.ConnectionView;
import io.pgloom.server.pool.Pool;
import io.pgloom.server.pool.PoolStats;
import io.pgloom.server.statements.ResponseQueue;
import io.pgloom.server.statements.ServerStatementCache;
import io.pgloom.wire.backend.BackendConnection;
import io.pgloom.wire.backend.BackendConnector;
import io.pgloom.wire.tcp.Conduit;
import io.pgloom.wire.backend.Endpoint;
import io.pgloom.wire.backend.ServerCredentials;
import io.pgloom.wire.protocol.Bytes;
import io.pgloom.wire.protocol.FrameReader;
import io.pgloom.wire.protocol.ParameterStatus;
import io.pgloom.wire.protocol.PgloomError;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.net.SocketException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
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
 *
 * <p>Where the connection is in its life is one field, {@link #state}, read by SHOW SERVERS,
 * SHOW POOLS and the metrics with one volatile read and no lock. Every move but the close is a
 * compare-and-set from the state it expects, so none can undo a close that raced it (a release
 * racing a close leaves the connection out of the idle list). Who moves it, and under which lock:
 * <ul>
 * <li>opened ACTIVE, by the thread that opened it;
 * <li>ACTIVE to IDLE ({@link #enterIdle}) and IDLE to ACTIVE ({@link #leaveIdle}): the pool, under
 *     its lock, as it adds to or takes from its idle list; whichever thread releases or takes it;
 * <li>ACTIVE to CHECKING and back ({@link #startCheck}, {@link #endCheck}): the pool's server
 *     check, under the pool's lock, on the thread of the client that took the connection;
 * <li>ACTIVE to RESETTING ({@link #giveBack}): the thread that just unlinked it, its only writer,
 *     no lock; RESETTING to ACTIVE: the reader thread, at the reset's last ReadyForQuery, just
 *     before it hands the connection to the pool;
 * <li>any to CLOSED ({@link #close}): any thread, no lock; it stays CLOSED.
 * </ul>
 *
 * <p>RECONNECT's "close when released" ({@link #closeNeeded}) is a separate mark, not a state: it
 * is set on connections in every state and must survive their moves; folded in, every state would
 * need a marked twin and every compare-and-set would have two states to expect.
 */
public final class ServerConnection {
    private static final Logger log = LoggerFactory.getLogger(ServerConnection.class);
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(ServerConnection.class, "state", State.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Where a server connection is in its life. */
    public enum State {
        /** Out of the pool: linked to a client, handed to one, opened for one, or running auth_query. */
        ACTIVE,
        /** In the pool's idle list. */
        IDLE,
        /** Taken from the idle list for server_check_query; its checker, not the pool's discard, settles its slot. */
        CHECKING,
        /** Running server_reset_query on its way back to the pool. */
        RESETTING,
        /** Closed, or closing; its reader thread will tell the pool. */
        CLOSED
    }

    public final int id = SocketIds.next();
    public final Pool pool;
    public final String host;
    public final int port;
    public final Endpoint endpoint;
    /** What opened this connection: cancels for its backend go the same way. */
    public final BackendConnector connector;
    private final Conduit conduit;
    public final OutputStream out;
    final FrameReader reader;
    /** This end's address, taken once: Socket#getLocalAddress takes the socket's state lock, which every read and write take too. */
    private final String localAddr;
    private final int localPort;
    /** SHOW SERVERS' tls column: {@code TLSv1.3/<suite>}, or empty in plain text. */
    private final String tls;
    /** The server's current values of the parameters it reports (ParameterStatus); changed through {@link #parameterReported}. */
    public final Map<String, String> parameters;
    /** Bumped by each ParameterStatus: {@link #parameterValues} recomputes its array when it moved. */
    private int parametersVersion;
    private List<String> valuesNames;
    private String[] values;
    private int valuesVersion = -1;
    public final int backendPid;
    public final int backendSecret;
    final long createdNanos = System.nanoTime();
    /** Jittered so that connections opened together do not all expire together. */
    final long lifetimeNanos;
    /** Linked to a client at least once; written by that client's thread, read on release and by maintenance. */
    private volatile boolean served;
    /** When it was last released: written by the releasing thread before the pool's lock, read by views without it. */
    private volatile long idleSinceNanos = System.nanoTime();

    /** See the class comment for who moves it. */
    private volatile State state = State.ACTIVE;
    /**
     * Why RECONNECT or a RELOAD asked for this connection to be closed when released (SHOW
     * SERVERS' close_needed); null while not asked.
     */
    private volatile String closeNeeded;
    /** Written before {@link #state} becomes CLOSED, so whoever sees CLOSED finds it. */
    private volatile String closeReason;

    /** The linked client's {@link Link}, null while unlinked: written by that Link under its lock, read here and by views without it. */
    volatile Link link;
    /** Written by the reader thread (by the opener, before it starts); read by whoever releases the connection. */
    private volatile char transactionStatus = 'I';
    /** Cancel requests in flight against this backend; it must not be handed on until they finish. */
    public final CancelsInFlight cancelsInFlight = new CancelsInFlight();
    /** pgloom's own queries on this connection (SET, reset, server_check_query, auth_query, connect_query). */
    private final InternalQueries internal = new InternalQueries(this);

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
        this.conduit = login.conduit();
        this.out = login.out();
        this.reader = login.reader();
        this.parameters = new HashMap<>(login.parameters());
        this.backendPid = login.processId();
        this.backendSecret = login.secretKey();
        this.transactionStatus = login.transactionStatus();
        this.localAddr = conduit.socket().getLocalAddress().getHostAddress();
        this.localPort = conduit.socket().getLocalPort();
        this.tls = login.tls();
        long lifetime = pool.serverLifetime().toNanos();
        // 0, as in PgBouncer: each connection serves one client, and closes when released.
        this.lifetimeNanos = lifetime <= 0 ? 0
                : lifetime - (long) (ThreadLocalRandom.current().nextDouble(0, 0.1) * lifetime);
    }

    /**
     * Connects and logs in. Returns a connection ready for queries (its reader thread not started
     * yet), or throws {@link PgloomError} carrying the server's own login error, or IOException when
     * the server cannot be reached.
     */
    public static ServerConnection open(Pool pool, Endpoint endpoint, String database, Map<String, String> startupParameters,
            ServerCredentials credentials) throws IOException, PgloomError {
        BackendConnector connector = pool.connector();
        BackendConnection login = connector.login(endpoint, database, startupParameters, credentials);
        try {
            return new ServerConnection(pool, connector, login);
        } catch (RuntimeException e) {
            login.conduit().close();
            throw e;
        }
    }

    /** pgloom's own queries on this connection. */
    public InternalQueries internalQueries() {
        return internal;
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
        if (!STATE.compareAndSet(this, State.ACTIVE, State.RESETTING)) {
            return; // closed meanwhile: its reader thread hands it to the pool's discard
        }
        try {
            internal.send(query);
        } catch (IOException e) {
            close("server_reset_query failed: " + e.getMessage());
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
            reason = isClosed() ? closeReasonOr("closed by pgloom") : "server connection lost: " + e.getMessage();
        } catch (IOException e) {
            reason = "server connection failed: " + e.getMessage();
        } finally {
            boolean wasClosed = isClosed();
            close(reason);
            internal.end(reason);
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
        InternalQueries own = internal;
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
                boolean swallow = own.pending() > 0;
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
                    parameterReported(p.name(), p.value());
                    if (c != null) {
                        c.parameterChanged(p.name(), p.value());
                    }
                }
                if (swallow) {
                    flushSpan(buf, spanStart, at);
                    r.advance(frame);
                    spanStart = r.position();
                    if (type != 'Z') {
                        own.answer(type, buf, at + 5, at + frame);
                    } else {
                        readySeen++;
                        transactionStatus = (char) buf[at + 5];
                        if (own.readyForQuery() == 0) {
                            if (STATE.compareAndSet(this, State.RESETTING, State.ACTIVE)) {
                                // The reset on the way back to the pool finished. (A SET sent while linking
                                // also ends here, before the client is linked: that must not release.)
                                pool.release(this);
                            } else {
                                own.end(transactionStatus == 'I' ? null : "it left a transaction open");
                            }
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

    /** The server reported a parameter's value (ParameterStatus). Its reader thread, or the opener before that starts. */
    void parameterReported(String name, String value) {
        parameters.put(name, value);
        parametersVersion++;
    }

    /**
     * This server's values of {@code names}, in their order (null where it reported none), each
     * made {@code canonical}: one array, made again only after a ParameterStatus, so that a client
     * linking this server compares its tracked values without a map lookup each, and mostly by
     * identity. For the thread that holds the link (the pool's hand-off orders it after the reader
     * thread's last change); the caller does not change the array.
     */
    public String[] parameterValues(List<String> names, UnaryOperator<String> canonical) {
        String[] v = values;
        if (v == null || valuesVersion != parametersVersion || valuesNames != names) {
            v = new String[names.size()];
            for (int i = 0; i < v.length; i++) {
                v[i] = canonical.apply(parameters.get(names.get(i)));
            }
            values = v;
            valuesNames = names;
            valuesVersion = parametersVersion;
        }
        return v;
    }

    /** Starts this connection's reader thread in its pool's scope. */
    public void startReader() {
        if (!pool.scope().start("server-" + id + "-" + pool.key(), this::readLoop)) {
            close("pool is closing");
        }
    }

    public boolean expired(long now) {
        // server_lifetime 0: expired once it has served a client (not after the welcome probe, nor idle).
        return lifetimeNanos == 0 ? served : now - createdNanos > lifetimeNanos;
    }

    /** A client linked this connection to run its queries (server_lifetime 0 closes it on release). */
    public void markServed() {
        if (!served) { // read first: one volatile write per connection, not per transaction
            served = true;
        }
    }

    /** Where this connection is in its life: one volatile read, no lock. */
    public State state() {
        return state;
    }

    public boolean isClosed() {
        return state == State.CLOSED;
    }

    /** ACTIVE to IDLE, as the pool adds it to its idle list, under the pool's lock; false if it was closed meanwhile. */
    public boolean enterIdle() {
        return STATE.compareAndSet(this, State.ACTIVE, State.IDLE);
    }

    /** IDLE to ACTIVE, as the pool takes it from its idle list, under the pool's lock; false if it was closed meanwhile. */
    public boolean leaveIdle() {
        return STATE.compareAndSet(this, State.IDLE, State.ACTIVE);
    }

    /** ACTIVE to CHECKING, taken from the idle list for server_check_query, under the pool's lock. */
    public boolean startCheck() {
        return STATE.compareAndSet(this, State.ACTIVE, State.CHECKING);
    }

    /** CHECKING to ACTIVE, the check over, under the pool's lock; false if it was closed meanwhile. */
    public boolean endCheck() {
        return STATE.compareAndSet(this, State.CHECKING, State.ACTIVE);
    }

    /** The state of the last transaction, as the server's last ReadyForQuery reported it. */
    public char transactionStatus() {
        return transactionStatus;
    }

    /** The opener (connect_query) set it, before the reader thread starts. */
    void transactionStatus(char status) {
        transactionStatus = status;
    }

    /** When it was last released (nanoTime): what server_check_delay and server_idle_timeout judge. */
    public long idleSinceNanos() {
        return idleSinceNanos;
    }

    /** The pool released it at {@code now}, to a waiter or to the idle list. */
    public void releasedAt(long now) {
        idleSinceNanos = now;
    }

    /** Whether RECONNECT (or a RELOAD that changed how servers are reached) asked for it to be closed when released. */
    public boolean closeNeeded() {
        return closeNeeded != null;
    }

    /** The close reason {@link #markCloseNeeded} was given; null if it was not marked. */
    public String closeNeededReason() {
        return closeNeeded;
    }

    public void markCloseNeeded(String reason) {
        closeNeeded = reason;
    }

    /** Closes the socket; the reader thread then ends and tells the pool. Idempotent. */
    public void close(String reason) {
        if (state == State.CLOSED) {
            return;
        }
        closeReason = reason;
        if (STATE.getAndSet(this, State.CLOSED) == State.CLOSED) {
            return; // a racing close won
        }
        try {
            // Terminate tells the server to end the backend cleanly, rolling back what is open.
            out.write(new byte[] {'X', 0, 0, 0, 4});
            out.flush();
        } catch (IOException ignored) {
            // the server may already be gone
        }
        conduit.close();
    }

    /**
     * This connection as a SHOW SERVERS row, in {@code state} (read once by the caller) shown as
     * {@code word}, read without any lock: volatile fields, and the
     * server's reported parameters (application_name follows the linked client's), a map whose
     * keys are all set at login and whose values only this connection's reader thread replaces.
     */
    public ConnectionView view(State state, String word, long now, long nowMillis) {
        Link l = link;
        ClientSession c = l == null ? null : l.client();
        long started = l == null ? 0 : l.queryStartNanos();
        long lastRequest = started != 0 ? started : idleSinceNanos;
        return new ConnectionView("S", pool.key().user(), pool.key().database(), word, host, port,
                localAddr, localPort,
                ConnectionView.epochMillis(createdNanos, now, nowMillis), ConnectionView.epochMillis(lastRequest, now, nowMillis),
                0, state == State.CLOSED || closeNeeded != null, "S-" + id, c == null ? "" : c.ptr(), backendPid, tls,
                c == null ? "" : parameters.getOrDefault("application_name", ""), preparedStatements.size(), id, "none");
    }

    /** The local end of this connection, {@code 127.0.0.1:40312}, for the log. */
    public String localEnd() {
        return localAddr + ":" + localPort;
    }

    @Override
    public String toString() {
        return "S-" + id + "(" + host + ":" + port + " pid " + backendPid + ")";
    }
}
