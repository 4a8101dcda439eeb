package io.pgloom.server.backend;

import io.pgloom.server.statements.PreparedStatements;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.FrameReader;
import io.pgloom.wire.protocol.Frontend;
import io.pgloom.wire.protocol.MessageBuilder;
import io.pgloom.wire.protocol.ParameterStatus;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The queries pgloom itself runs on one server connection, whose answers no client sees: the SETs
 * that give a server the parameters of the client it is linked to, server_reset_query,
 * server_check_query, auth_query's lookup, and connect_query on a new connection.
 *
 * <p>Threading: requests are written by the one thread that holds the connection (the client
 * thread that links it or took it for a check or an auth_query, the thread that unlinked it for
 * its reset), so the connection keeps one writer. Their answers are read by the connection's
 * reader thread, which hands every frame here while {@link #pending} is above zero: the relay's
 * cost when no query of pgloom's own is out is that one volatile read per frame. A caller that
 * needs the answer ({@link #check}, {@link #extendedQuery}) waits under {@link #lock} for the
 * reader thread to complete it. connect_query alone runs before the reader thread exists and
 * reads its own answer ({@link #connectQuery}).
 *
 * <p>Lock order: {@link #lock} is a leaf; nothing is called out to while it is held.
 */
public final class InternalQueries {
    /** ServerConnection's: the log lines kept the logger name they had before this class was split out. */
    private static final Logger log = LoggerFactory.getLogger(ServerConnection.class);
    private static final VarHandle PENDING;

    static {
        try {
            PENDING = MethodHandles.lookup().findVarHandle(InternalQueries.class, "pending", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ServerConnection server;
    /**
     * Requests of pgloom's own whose ReadyForQuery has not been read yet. Added to by the writing
     * thread and taken from by the reader thread, atomically: auth_query writes its second request
     * while the answer to its first may be arriving.
     */
    private volatile int pending;

    // The answer one caller waits for. Guarded by lock.
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition answered = lock.newCondition();
    private boolean awaited;
    /** Why the awaited request failed; the first reason wins. */
    private String failure;
    /** The first ErrorResponse, the RowDescription's column count (-1: none came), the DataRow bodies. */
    private ErrorResponse error;
    private int columns;
    private List<byte[]> rows = List.of();

    InternalQueries(ServerConnection server) {
        this.server = server;
    }

    /**
     * The answer to a query of pgloom's own on a connection taken from the pool.
     *
     * @param failure null if the server answered without error and outside a transaction, else why not
     * @param error   the server's ErrorResponse, if it sent one
     * @param columns the RowDescription's column count, -1 if none came
     * @param rows    the DataRow bodies, in order
     */
    public record Answer(String failure, ErrorResponse error, int columns, List<byte[]> rows) {
    }

    /** Requests of pgloom's own still to be answered: one volatile read. */
    public int pending() {
        return pending;
    }

    /** Writes a query of pgloom's own (SET, reset); its answer is swallowed. By the thread holding the connection. */
    public void send(String sql) throws IOException {
        if (PreparedStatements.mentionsDrop(sql)) {
            server.preparedStatements.clear(); // server_reset_query DISCARD ALL (the default) drops them all
        }
        send(Frontend.query(sql));
    }

    /** Writes one request of pgloom's own that ends with exactly one ReadyForQuery. */
    private void send(byte[] request) throws IOException {
        PENDING.getAndAdd(this, 1);
        server.countRequestSent();
        server.out.write(request);
        server.out.flush();
    }

    /**
     * Runs connect_query on a new connection, before its reader thread starts, and reads the
     * answer on this thread. Throws if the query failed: the connection is then unusable.
     */
    public void connectQuery(String sql) throws IOException {
        server.out.write(new MessageBuilder('Q').cstring(sql).build());
        server.out.flush();
        ErrorResponse failed = null;
        while (true) {
            FrameReader.Message m = server.reader.readMessage(1 << 24);
            if (m.type() == 'E') {
                failed = ErrorResponse.decode(m.body(), 0, m.body().length);
            } else if (m.type() == 'S') {
                ParameterStatus p = ParameterStatus.decode(m.body(), 0, m.body().length);
                server.parameterReported(p.name(), p.value());
            } else if (m.type() == 'Z') {
                server.transactionStatus((char) m.body()[0]);
                break;
            }
        }
        if (failed != null) {
            throw new IOException("connect_query failed: " + failed);
        }
    }

    /**
     * Runs server_check_query on the connection, just taken idle from the pool, and waits for
     * the reader thread to swallow the answer. Runs on the client thread that wants the connection.
     *
     * @return null if the server answered without error and outside a transaction, else why the
     *         check failed: the server's error, the connection's end, or no answer in time
     */
    public String check(String sql, long timeoutNanos) throws InterruptedException {
        return ask(() -> send(sql), timeoutNanos).failure();
    }

    /**
     * Runs {@code sql} with one text parameter over the extended protocol (auth_query) on the
     * connection, just taken from the pool, and waits for the reader thread to collect the answer.
     * Runs on the client thread that took the connection. The parameter goes as UTF-8, so the
     * session is switched to UTF8 first if a client left it in another encoding.
     */
    public Answer extendedQuery(String sql, String param, long timeoutNanos) throws InterruptedException {
        byte[] request = Frontend.extendedQuery(sql, param);
        boolean utf8 = "UTF8".equalsIgnoreCase(server.parameters.get("client_encoding"));
        return ask(() -> {
            if (!utf8) {
                send(Frontend.query("SET client_encoding = 'UTF8'"));
            }
            send(request);
        }, timeoutNanos);
    }

    /** Writes requests of pgloom's own. */
    @FunctionalInterface
    private interface Request {
        void send() throws IOException;
    }

    /** Sends {@code request} and waits until its answers are swallowed, or {@code timeoutNanos} passed. */
    private Answer ask(Request request, long timeoutNanos) throws InterruptedException {
        lock.lock();
        try {
            awaited = true;
            failure = null;
            error = null;
            columns = -1;
            rows = new ArrayList<>();
        } finally {
            lock.unlock();
        }
        try {
            request.send();
        } catch (IOException e) {
            end("cannot send it: " + e.getMessage());
        }
        lock.lock();
        try {
            long left = timeoutNanos;
            while (awaited) {
                if (left <= 0) {
                    awaited = false;
                    return new Answer("no answer within " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos)
                            + " ms (server_connect_timeout)", error, columns, rows);
                }
                left = answered.awaitNanos(left);
            }
            return new Answer(failure, error, columns, rows);
        } finally {
            lock.unlock();
        }
    }

    // ---------------------------------------------------------------- the reader thread

    /**
     * A frame answering a request of pgloom's own, other than ReadyForQuery (see {@link #readyForQuery}):
     * a RowDescription or DataRow is kept for a waiting caller, an ErrorResponse fails it, or is
     * logged when no caller waits (a SET or the reset failed).
     */
    void answer(char type, byte[] buf, int from, int to) {
        if (type == 'T' || type == 'D') {
            collect(type, buf, from, to);
        } else if (type == 'E') {
            ErrorResponse e = ErrorResponse.decode(buf, from, to);
            if (!failsAwaited(e)) {
                log.warn("S-{} {}: internal query failed: {}", server.id, server.pool.key(), e);
            }
        }
    }

    /** A ReadyForQuery answering a request of pgloom's own: returns how many are still to come. */
    int readyForQuery() {
        return (int) PENDING.getAndAdd(this, -1) - 1;
    }

    private void collect(char type, byte[] buf, int from, int to) {
        lock.lock();
        try {
            if (!awaited) {
                return;
            }
            if (type == 'T') {
                columns = to - from >= 2 ? ((buf[from] & 0xff) << 8) | (buf[from + 1] & 0xff) : 0;
            } else {
                rows.add(Arrays.copyOfRange(buf, from, to));
            }
        } finally {
            lock.unlock();
        }
    }

    /** True if a caller awaits this answer, which then fails. */
    private boolean failsAwaited(ErrorResponse e) {
        lock.lock();
        try {
            if (awaited && failure == null) {
                failure = "server answered " + e;
                error = e;
            }
            return awaited;
        } finally {
            lock.unlock();
        }
    }

    /**
     * The awaited answer is complete ({@code failure} null: it succeeded) or can no longer come
     * (the connection ended): keeps the first failure and wakes the caller, if one waits.
     */
    void end(String why) {
        lock.lock();
        try {
            if (!awaited) {
                return;
            }
            if (failure == null) {
                failure = why;
            }
            awaited = false;
            answered.signal();
        } finally {
            lock.unlock();
        }
    }
}
