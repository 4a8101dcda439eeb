package io.pgloom.server.frontend;

import io.pgloom.config.DatabaseEntry;
import io.pgloom.config.PoolMode;
import io.pgloom.server.backend.DedicatedServer;
import io.pgloom.server.backend.Link;
import io.pgloom.server.backend.ServerConnection;
import io.pgloom.server.carrier.Carriers;
import io.pgloom.server.control.InjectionPoints;
import io.pgloom.server.control.Pooler;
import io.pgloom.server.control.PoolerMetrics;
import io.pgloom.server.control.PoolerSettings;
import io.pgloom.server.login.ClientAuthenticator;
import io.pgloom.server.net.SocketIds;
import io.pgloom.server.net.Transport;
import io.pgloom.wire.tls.TlsAcceptor;
import io.pgloom.server.pool.ConnectionView;
import io.pgloom.server.pool.Pool;
import io.pgloom.server.pool.PoolStats;
import io.pgloom.server.statements.PreparedStatements;
import io.pgloom.wire.backend.ServerCredentials;
import io.pgloom.wire.protocol.Backend;
import io.pgloom.wire.protocol.Bytes;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.FrameReader;
import io.pgloom.wire.protocol.PgloomError;
import io.pgloom.wire.protocol.ProtocolException;
import io.pgloom.wire.protocol.SqlState;
import io.pgloom.wire.protocol.StartupRequest;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static io.pgloom.server.frontend.TrackedParameters.APPLICATION_NAME;

/**
 * One client connection, from startup packet to close.
 *
 * <p>Threading: everything in {@link #run} happens in the client's own virtual thread, which is the
 * only reader of the client socket and, while linked, the only writer to the linked server. The
 * linked server's reader thread writes server frames to this client and calls
 * {@link #serverReady}, {@link #parameterChanged} and {@link #serverLost}. Which server this
 * client holds and what is in flight is its {@link Link}'s, under the Link's own lock (its class
 * comment gives the lock order); writes to the client socket go through its {@link ClientOutput},
 * which holds the write lock; the tracked parameters are guarded by their array's monitor. All are
 * uncontended almost always.
 *
 * <p>The way in: {@link Negotiation} reads what comes before the StartupMessage, then the login
 * (admission, {@link ClientAuthenticator}, the pool, the login reply), then the relay.
 */
public final class ClientSession implements Callable<Object> {
    private static final Logger log = LoggerFactory.getLogger(ClientSession.class);
    /** query_wait_notify's notice, in PgBouncer's words (applications may match on them). */
    private static final byte[] QUEUED_NOTICE =
            ErrorResponse.notice("No server connection available in postgres backend, client being queued").encode();

    private final Pooler pooler;
    /** The client's connection for writing and closing; it knows the transport, which a TLS upgrade replaces. */
    private final ClientOutput out;
    /** Client thread only; replaced once if negotiation upgrades the connection. */
    private FrameReader reader;
    /** The server this client holds, if any, and what is in flight with it; one for the client's life. */
    private final Link link = new Link(this);

    private String user = "-";
    private String databaseName = "-";
    private Pool pool;
    private PoolMode poolMode = PoolMode.SESSION;
    /**
     * Named prepared statements, tracked in transaction and statement mode when
     * max_prepared_statements is above 0 at login; null means they pass through untouched (session
     * mode: the client owns its server, so its names are safe there as they are).
     */
    private PreparedStatements statements;
    /**
     * Tracked parameter values as this client last set or was told them, by index in
     * {@link TrackedParameters#name} (null: not set). Guarded by its own monitor, never held
     * across I/O.
     */
    private final String[] tracked;
    /** Which parameters {@link #tracked} holds: the pooler's, fixed for its life. */
    private final TrackedParameters trackedNames;
    /** The BackendKeyData pgloom gave this client (CancelKeys assigns it once, at admission). */
    private int cancelPid;
    private int cancelSecret;

    private volatile boolean closing;
    /** Why this client goes, for its one disconnect line; the first reason noted wins. */
    private volatile String closeReason;
    /** Set once the startup packet is read: before it, user and database are unknown. */
    private boolean startupSeen;
    /**
     * Set once the client proved who it is. Until then its startup values (search_path, with
     * track_extra_parameters) must not reach a server: the auth_query connection opened for its
     * login would run under them. Client thread only.
     */
    private boolean authenticated;
    /** Set once the login reply went out (client thread only): errors after it are not refusals. */
    private boolean loggedIn;
    /** Counted in the pooler's per-database and per-user client counts (client thread only). */
    private boolean countedByName;
    private volatile long lastActivityNanos = System.nanoTime();
    /** For SHOW CLIENTS' connect_time. */
    private final long connectMillis = System.currentTimeMillis();
    /** Since when (nanoTime) this client waits in its pool's line for a server; 0 when not waiting. Written under the pool's lock. */
    private volatile long waitingSinceNanos;
    /** Where client_login_timeout counts from. */
    private final long connectNanos = System.nanoTime();
    /**
     * Set once the login is over (the login reply sent, or the admin console took over): from then
     * on the janitor judges idle timeouts instead of client_login_timeout. Written once.
     */
    private volatile boolean handshakeDone;
    /**
     * True while this client's thread takes a server from the pool (and sets its parameters): it
     * waits, it is not idle, so client_idle_timeout does not apply. Written twice per acquire,
     * never per message.
     */
    private volatile boolean acquiring;
    /** "physical" or "logical" for a replication client, which owns a server for its life; null otherwise. Client thread. */
    private String replication;
    /** A replication client's own server, once open: where its cancels go. */
    private volatile DedicatedServer dedicated;
    /** Set by the janitor when it has sent this client off for a timeout (janitor thread only). */
    private boolean timedOut;

    /** The "closing because" line is written: by this client's thread, or by whoever closed it first. */
    private final AtomicBoolean closeLogged = new AtomicBoolean();
    private final int socketId;

    public ClientSession(Pooler pooler, Transport transport) throws IOException {
        this.socketId = SocketIds.next();
        this.pooler = pooler;
        this.trackedNames = pooler.trackedParameters();
        this.tracked = new String[trackedNames.size()];
        this.out = new ClientOutput(transport);
        this.reader = newReader(transport.input());
    }

    /**
     * The reader of a client's stream. 128 bytes hold a startup packet, a password and a short
     * query: a client that logs in and sits idle keeps no more (it is parked on this buffer). One
     * that sends more grows it, and it rests at 512 between messages, so typical queries cost no
     * allocation.
     */
    static FrameReader newReader(InputStream in) {
        return new FrameReader(in, 128, 512, 64 * 1024);
    }

    /** CancelKeys, at admission: the key this client is told and a CancelRequest must name. */
    public void cancelKey(int pid, int secret) {
        cancelPid = pid;
        cancelSecret = secret;
    }

    /** SHOW CLIENTS' id, which KILL_CLIENT takes: this socket's place in {@link SocketIds}' count. */
    public int socketId() {
        return socketId;
    }

    public int cancelPid() {
        return cancelPid;
    }

    public int cancelSecret() {
        return cancelSecret;
    }

    /** Whether this client asked for physical replication ({@code replication=true}): hba rules treat it apart. */
    public boolean physicalReplication() {
        return "physical".equals(replication);
    }

    /** The client registry counted this client by database and user name (client thread only). */
    public void markCountedByName(boolean counted) {
        countedByName = counted;
    }

    public boolean countedByName() {
        return countedByName;
    }

    /** The pool's wait line, under the pool's lock: since when this client waits, 0 when it no longer does. */
    public void waitingSince(long nanos) {
        waitingSinceNanos = nanos;
    }

    /**
     * The client as every log line about it names it: {@code C-<id> user@database from address:port},
     * with {@code (no startup packet yet)} in place of user@database before they are known.
     */
    @Override
    public String toString() {
        // The peer is formatted only when needed: no string per idle client.
        return ptr() + " " + (startupSeen ? user + "@" + databaseName : "(no startup packet yet)")
                + " from " + out.transport().peer();
    }

    /** The client's address and port as PgBouncer writes them: {@code host:port}, {@code [v6]:port}. */
    private String peer() {
        Transport transport = out.transport();
        String host = transport.remoteAddress();
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + transport.remotePort();
    }

    /**
     * The client's thread: negotiation, login, then relay until either side goes away. The session
     * itself is the thread's task, forked as it is ({@link io.pgloom.server.TaskScope#start(Callable)}: no wrapper
     * names the thread or catches what escapes), so each wrapper's frame is one less on every idle
     * client's stack. Negotiation and login are each called from here, not one from the other, so
     * that neither parks for the client deeper than the relay does.
     */
    @Override
    public Object call() {
        Thread.currentThread().setName("client-" + out.transport().remotePort());
        pooler.janitor().add(this);
        try {
            if (!tuned()) {
                return null;
            }
            TlsAcceptor tls = pooler.clientTls(); // the one loaded when this client came, for its whole negotiation
            Transport.Upgrade upgrade = ClientTls.upgradeFor(tls, out.transport());
            Negotiation negotiation = new Negotiation(reader, out, upgrade, upgrade != null && tls.mode().requiresTls());
            StartupRequest.Startup startup = negotiation.run(pooler::cancel);
            if (startup == null) {
                noteCloseReason(negotiation.endReason());
                return null;
            }
            reader = negotiation.reader();
            Admission admitted = admit(negotiation, startup);
            // The client's answers (a password, SCRAM's messages) are read here, not in a method
            // this calls: a thread keeps the stack room its deepest wait needed, so no wait of the
            // login is to be deeper than the relay's wait for an idle client.
            ClientAuthenticator authenticator = admitted.authenticator();
            for (boolean more = admitted.answersNeeded(); more; ) {
                out.flush();
                more = authenticator.accept(reader.readMessage(ClientAuthenticator.MAX_AUTH_MESSAGE));
            }
            if (login(admitted)) {
                relay();
            }
        } catch (PgloomError e) {
            refuseOrClose(e.response(), e.logReason());
        } catch (ProtocolException e) {
            refuseOrClose(new ErrorResponse("FATAL", e.sqlState(), e.getMessage(), null), null);
        } catch (EOFException e) {
            // Before its startup packet, an EOF ends the negotiation, which names the reason.
            noteCloseReason("client closed the connection");
        } catch (SSLException e) {
            noteCloseReason(e.getMessage()); // "TLS handshake failed: " and the reason (Negotiation)
        } catch (SocketException e) {
            noteCloseReason(stopped() ? "pgloom is shutting down" : "client connection lost: " + e.getMessage());
        } catch (IOException e) {
            noteCloseReason(stopped() ? "pgloom is shutting down" : "client connection failed: " + e);
        } catch (InterruptedException e) {
            refuse(ErrorResponse.fatal(SqlState.ADMIN_SHUTDOWN, "pgloom is shutting down"), null);
        } catch (RuntimeException e) {
            if (stopped()) {
                // A scope closing under this session (shutdown) may refuse what it asks for.
                log.debug("{}: {} while pgloom shuts down", this, e.toString());
                refuse(ErrorResponse.fatal(SqlState.ADMIN_SHUTDOWN, "pgloom is shutting down"), null);
            } else {
                // A bug: it ends this client only, which hears why, and its server goes back or is closed below.
                log.error("{}: internal error, closing the client", this, e);
                refuse(ErrorResponse.fatal(SqlState.INTERNAL_ERROR, "pgloom internal error: " + e), "internal error: " + e);
            }
        } catch (Error e) {
            log.error("{}: {}, closing the client", this, e.toString(), e); // out of memory, say: nothing is sent
            noteCloseReason("internal error: " + e);
        } finally {
            disconnect();
        }
        return null;
    }

    /**
     * The tcp_* settings on the client's socket; false when the system refuses one (a value out
     * of its range): the client goes, as PgBouncer drops a client whose socket it cannot tune,
     * but hears why (58000, an error outside the database), and the warning in the log names the
     * option and value to fix.
     */
    private boolean tuned() {
        try {
            out.transport().configure(pooler.settings().tcp());
            return true;
        } catch (IOException e) {
            refuseOrClose(ErrorResponse.fatal(SqlState.SYSTEM_ERROR, "pgloom could not apply its tcp_* settings to this"
                    + " connection (" + e.getMessage() + ")"), null);
            return false;
        }
    }

    // ---------------------------------------------------------------- login

    /**
     * A client admitted to authenticate: its authenticator, which has sent the first request
     * ({@code answersNeeded}: the client is to answer it), and the database it asked for (null:
     * the admin console, or a name pgloom does not have, which it is told after authenticating).
     */
    private record Admission(ClientAuthenticator authenticator, DatabaseEntry db, boolean console,
            boolean answersNeeded, StartupRequest.Startup startup) {
    }

    /**
     * Admits the client of {@code startup} (max_client_conn, the database's and user's limits, a
     * disabled database, a shutdown) and starts its authentication. Until the login is over, the
     * janitor closes this client after client_login_timeout, and may write its error meanwhile:
     * every reply goes through the locked output.
     */
    private Admission admit(Negotiation negotiation, StartupRequest.Startup startup)
            throws IOException, PgloomError, InterruptedException {
        PoolerSettings settings = pooler.settings();
        user = startup.user();
        databaseName = startup.database();
        startupSeen = true;
        negotiation.answerProtocolVersion(startup);
        replication = ReplicationRelay.mode(startup.parameters());
        if (replication == null) {
            trackedNames.takeStartup(startup.parameters(), settings.ignoreStartupParameters(), tracked);
        } else {
            // Its startup parameters all go to its own server as they are: only the name is kept here, for SHOW CLIENTS.
            tracked[APPLICATION_NAME] = startup.parameters().get("application_name");
        }
        if (settings.applicationNameAddHost()) {
            // PgBouncer's application_name_add_host: "app" stands in for a client that set none.
            String name = tracked[APPLICATION_NAME];
            tracked[APPLICATION_NAME] = trackedNames.canonical((name == null ? "app" : name) + " - " + peer());
        }
        if (!pooler.admitClient(this)) {
            throw PgloomError.fatal(SqlState.PROTOCOL_VIOLATION, "no more connections allowed (max_client_conn)");
        }
        boolean console = Pooler.CONSOLE_DATABASE.equals(databaseName);
        if (console && replication != null) {
            throw PgloomError.fatal(SqlState.PROTOCOL_VIOLATION, "replication connections are not allowed to the admin console");
        }
        // During a waiting shutdown the admin console still lets operators in (over the Unix socket,
        // the one listener left open); after the final close nobody is.
        if (console ? pooler.isClosing() : pooler.refusesNewClients()) {
            throw PgloomError.fatal(SqlState.ADMIN_SHUTDOWN, "pgloom is shutting down");
        }
        DatabaseEntry db = console ? null : pooler.database(databaseName).orElse(null);
        boolean noSuchDatabase = !console && db == null;
        if (!console && !noSuchDatabase && pooler.isDisabled(databaseName)) {
            throw PgloomError.fatal(SqlState.PROTOCOL_VIOLATION, "database \"" + databaseName + "\" is disabled");
        }
        String overLimit = noSuchDatabase ? null : pooler.admitByName(this, db, databaseName, user);
        if (overLimit != null) {
            throw PgloomError.fatal(SqlState.PROTOCOL_VIOLATION, overLimit);
        }
        ClientAuthenticator authenticator = new ClientAuthenticator(pooler, this, out, user, out.transport().info());
        if (noSuchDatabase) {
            authenticator.forMissingDatabase(databaseName); // who the client is first, as PostgreSQL does
        }
        // The answers are read by the caller rather than in the authenticator: see ClientAuthenticator and call().
        return new Admission(authenticator, db, console, authenticator.start(settings.authType(), db), startup);
    }

    /**
     * After the client authenticated ({@code admitted}): picks its pool and sends the login
     * reply; false if the connection ends here (the admin console served it).
     */
    private boolean login(Admission admitted) throws IOException, PgloomError, InterruptedException {
        PoolerSettings settings = pooler.settings();
        ClientAuthenticator authenticator = admitted.authenticator();
        DatabaseEntry db = admitted.db();
        if (!admitted.console() && db == null) {
            throw PgloomError.fatal(SqlState.INVALID_CATALOG_NAME, "no such database: " + databaseName);
        }
        ClientAuthenticator.Result auth = authenticator.result();
        authenticated = true;
        if (admitted.console()) {
            handshakeDone = true;
            pooler.serveConsole(new ConsoleClient(this, reader, auth.consoleOwner()));
            noteCloseReason("client close request");
            return false;
        }
        pool = pooler.pool(db, user);
        // Keep the pool's equal copies of the names instead of this login's: two strings fewer per client.
        if (pool.key().database().equals(databaseName)) {
            databaseName = pool.key().database();
        }
        if (pool.key().user().equals(user)) {
            user = pool.key().user();
        }
        ServerCredentials learned = auth.serverCredentials(user);
        if (learned != null && pool.key().user().equals(user)) {
            // Only for the client's own user: a pool of a forced user= logs in with that user's secret.
            pool.learnCredentials(learned);
        }
        if (replication != null) {
            replicate(admitted.startup().parameters());
            return false;
        }
        poolMode = pool.poolMode();
        if (poolMode != PoolMode.SESSION && settings.maxPreparedStatements() > 0) {
            statements = new PreparedStatements(pooler.statementRegistry(), pool, this);
        }
        Map<String, String> welcome = pool.welcomeParameters();
        if (welcome == null) {
            // The first client of a pool waits for one server login to learn what to tell clients.
            ServerConnection s = pool.acquire(this);
            welcome = s.parameters;
            pool.release(s);
        }
        out.lock();
        try {
            byte[] parameterStatus;
            synchronized (tracked) {
                parameterStatus = trackedNames.welcomeMessages(welcome, tracked);
            }
            // The whole login reply in one write: one syscall, not one per message.
            java.io.ByteArrayOutputStream reply = new java.io.ByteArrayOutputStream(512);
            reply.writeBytes(Backend.authenticationOk());
            reply.writeBytes(parameterStatus);
            reply.writeBytes(Backend.backendKeyData(cancelPid, cancelSecret));
            if (!settings.loginNotifyMessage().isEmpty()) {
                reply.writeBytes(ErrorResponse.notice(settings.loginNotifyMessage()).encode());
            }
            reply.writeBytes(Backend.readyForQuery('I'));
            out.send(reply.toByteArray());
        } finally {
            out.unlock();
        }
        lastActivityNanos = System.nanoTime();
        handshakeDone = true;
        pool.stats.clientLogins.increment();
        loggedIn = true;
        pooler.metrics().clientAccepted();
        if (settings.logConnections() && log.isInfoEnabled()) {
            // Concatenated rather than a {} pattern: two lines per connection, on the connect path.
            String tls = out.transport().encryption();
            log.info(this + ": login ok (" + poolMode.configName() + " mode"
                    + (tls.isEmpty() ? ")" : ", tls=" + tls + ")")); // PgBouncer's tls= words
        }
        return true;
    }

    // ---------------------------------------------------------------- replication

    /**
     * A replication client, authenticated: opens its own server with its startup parameters,
     * sends the login reply and relays until either side goes (see {@link ReplicationRelay}). A
     * server that refuses the login (no replication privilege, no pg_hba.conf entry) is reported
     * to the client with the server's SQLSTATE and words, and the client is closed.
     */
    private void replicate(Map<String, String> startupParameters) throws IOException, PgloomError, InterruptedException {
        acquiring = true;
        DedicatedServer server;
        try {
            var endpoint = pool.claimDedicated();
            try {
                server = pool.openDedicated(endpoint, startupParameters, ptr(), replication);
            } catch (PgloomError e) {
                ErrorResponse refusal = e.response();
                refuseOrClose(new ErrorResponse("FATAL", refusal.sqlState(), "server login failed: " + refusal.message(),
                        refusal.detail()), "login failed");
                return;
            } catch (IOException e) {
                throw PgloomError.fatal(SqlState.CONNECTION_FAILURE, "could not connect to server: " + e.getMessage());
            }
        } finally {
            acquiring = false;
        }
        dedicated = server;
        try {
            out.send(ReplicationRelay.loginReply(server, cancelPid, cancelSecret));
        } catch (IOException e) {
            server.close("client connection lost during login");
            throw e;
        }
        lastActivityNanos = System.nanoTime();
        handshakeDone = true;
        loggedIn = true;
        pool.stats.clientLogins.increment();
        pooler.metrics().clientAccepted();
        if (pooler.settings().logConnections()) {
            log.info("{}: login ok ({} replication, own server {})", this, replication, server);
        }
        noteCloseReason(new ReplicationRelay(this, out, reader, pool, server).run());
    }

    // ---------------------------------------------------------------- relay

    private void relay() throws IOException, PgloomError, InterruptedException {
        FrameReader r = reader;
        int maxPacket = pooler.settings().maxPacketSize();
        PreparedStatements named = statements;
        PoolStats stats = pool.stats;
        // disable_pqexec: as PgBouncer, only the extended protocol is allowed (no multi-statement strings).
        boolean noSimpleQuery = pooler.settings().disablePqexec();
        while (true) {
            ServerConnection target = null;
            if (r.available() == 0) {
                r.shrinkIfEmpty();
                if (named != null) {
                    named.shrinkIfIdle();
                }
            }
            if (!readMore()) {
                if (r.available() > 0) {
                    throw new ProtocolException("unexpected end of stream within a message");
                }
                noteCloseReason("client closed the connection");
                return;
            }
            byte[] buf = r.buffer();
            int spanStart = r.position();
            int wholeFrame = 0;
            long received = 0; // bytes of the frames relayed in this round, added to the pool's counter once
            while (r.available() >= 5) {
                int at = r.position();
                char type = (char) (buf[at] & 0xff);
                int len = Bytes.int32(buf, at + 1);
                if (len < 4 || (maxPacket > 0 && Integer.toUnsignedLong(len) + 1 > maxPacket)) {
                    throw new ProtocolException("invalid message length " + Integer.toUnsignedString(len)
                            + " for message type '" + FrameReader.printable(type) + "'"
                            + (len >= 4 ? " (max_packet_size " + maxPacket + ")" : ""));
                }
                int frame = len + 1;
                boolean counts;
                switch (type) {
                    case 'Q' -> {
                        if (noSimpleQuery) {
                            flush(target, buf, spanStart, at);
                            throw PgloomError.fatal(SqlState.PROTOCOL_VIOLATION, "PQexec disallowed");
                        }
                        counts = true;
                    }
                    case 'S', 'F' -> counts = true;
                    case 'P', 'B', 'D', 'E', 'C', 'H', 'd', 'c', 'f' -> counts = false;
                    case 'X' -> {
                        flush(target, buf, spanStart, at);
                        noteCloseReason("client close request");
                        return;
                    }
                    default -> throw new ProtocolException("unsupported pkt type: " + (int) type
                            + " ('" + FrameReader.printable(type) + "')");
                }
                if (named != null) {
                    int need = named.bytesNeeded(type, buf, at, r.available(), frame);
                    if (r.available() < need) {
                        wholeFrame = need; // read more before linking or counting it
                        break;
                    }
                }
                received += frame;
                ServerConnection s = serverFor(type, counts);
                if (s != target) {
                    flush(target, buf, spanStart, at);
                    spanStart = at;
                    target = s;
                }
                boolean dropped = false;
                if (named != null) {
                    int keep = named.onMessage(s, type, buf, spanStart, at, frame, r.available());
                    if (keep != PreparedStatements.UNCHANGED) {
                        spanStart = at + keep; // what came before and the rewritten start are composed
                        dropped = keep == frame;
                    }
                }
                if (r.available() < frame) {
                    // Pass the part we have and stream the rest: a big COPY row or query is never buffered whole.
                    flush(target, buf, Math.min(spanStart, r.limit()), r.limit());
                    int remaining = frame - r.available();
                    r.advance(r.available());
                    ServerConnection to = target;
                    FrameReader.Sink sink = dropped ? (b, off, n) -> { } : (b, off, n) -> flush(to, b, off, off + n);
                    try {
                        r.passThrough(remaining, sink);
                    } catch (EOFException e) {
                        throw new ProtocolException("unexpected end of stream within a message");
                    }
                    buf = r.buffer();
                    spanStart = r.position();
                    continue;
                }
                r.advance(frame);
            }
            flush(target, buf, spanStart, r.position());
            if (received > 0) {
                stats.bytesReceived.add(received);
                received = 0;
            }
            if (wholeFrame > 0) {
                r.ensureFits(wholeFrame);
            }
        }
    }

    /**
     * Reads more, and notes the activity; false at end of stream. There is no read timeout:
     * client_idle_timeout and idle_transaction_timeout are the janitor's business
     * ({@link #overdue}): it closes the transport, and this read fails.
     */
    private boolean readMore() throws IOException {
        boolean more = reader.fill();
        lastActivityNanos = Carriers.nanoTime();
        return more;
    }

    /**
     * Janitor thread: the FATAL error this client has earned by {@code now} (client_login_timeout,
     * client_idle_timeout, idle transaction timeout, query timeout, transaction timeout), or null.
     * Takes the link lock only for a client idle longer than the smallest idle timeout, or when a
     * query or transaction timeout applies to it.
     */
    ErrorResponse overdue(long now, PoolerSettings s, ClientTimeouts.ByUser timeouts) {
        if (closing || timedOut) {
            return null;
        }
        if (!handshakeDone) {
            long limit = s.clientLoginTimeout().toNanos();
            return limit > 0 && now - connectNanos >= limit
                    ? ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "client_login_timeout") : null;
        }
        // pool == null: the admin console, which has no client timeouts; nor has a replication stream.
        if (pool == null || acquiring || dedicated != null) {
            return null;
        }
        ClientTimeouts t = timeouts.of(user, pooler.config(), s);
        long smallest = t.smallestIdleNanos();
        if (!t.judgesBusyClients() && (smallest == 0 || now - lastActivityNanos < smallest)) {
            return null;
        }
        return link.timeout(now, t);
    }

    /** The client's output, for the janitor to cut a final write short. */
    ClientOutput output() {
        return out;
    }

    /** Janitor thread: marks this client as sent off, so the next tick does not send it off again. */
    void markTimedOut() {
        timedOut = true;
    }

    /**
     * Sends this client off for a timeout {@link #overdue} found, on a thread of its own (the
     * janitor never writes). Before login it counts as a refused client, as a refusal does.
     */
    void timeOut(ErrorResponse error) {
        if (!handshakeDone && !closing) {
            pooler.metrics().clientRefused(PoolerMetrics.ClientRefusal.of(error));
        }
        closeWith(error);
    }

    private void flush(ServerConnection target, byte[] buf, int from, int to) throws IOException {
        if (target != null && (to > from || statements != null)) {
            try {
                if (statements != null) {
                    statements.send(target, buf, from, to);
                } else {
                    target.out.write(buf, from, to - from);
                }
            } catch (IOException e) {
                // The server went away under us; its reader thread tells this client what happened.
                log.debug("{}: write to {} failed: {}", this, target, e.getMessage());
            }
        }
    }

    /**
     * Makes sure this client has a server for a frame of {@code type} and counts the request,
     * atomically with respect to the server thread deciding to release the link.
     */
    private ServerConnection serverFor(char type, boolean expectsReady) throws PgloomError, InterruptedException, IOException {
        ServerConnection held = link.countOnHeld(type, expectsReady);
        if (held != null) {
            return held;
        }
        if (pooler.isShuttingDown()) {
            // A waiting shutdown lets running transactions finish, and starts no new one.
            throw PgloomError.fatal(SqlState.ADMIN_SHUTDOWN, Pooler.SERVER_SHUTTING_DOWN);
        }
        acquiring = true;
        try {
            ServerConnection s = pool.acquire(this);
            // The wait counts from the read that brought the request (just before), as PgBouncer's wait_time does.
            long now = Carriers.nanoTime();
            pool.stats.assigned(Math.max(0, now - lastActivityNanos));
            if (statements != null) {
                statements.linked();
            }
            s.markServed();
            syncParameters(s);
            link.attach(s, type, expectsReady, now);
            pooler.injectionPoints().pass(InjectionPoints.CLIENT_SERVER_LINKED);
            return s;
        } finally {
            acquiring = false;
        }
    }

    /** Sets on a newly linked server the tracked parameters whose values differ from this client's. */
    private void syncParameters(ServerConnection s) throws IOException {
        StringBuilder sql = null;
        String[] theirs = s.parameterValues(trackedNames.names(), trackedNames::canonical);
        synchronized (tracked) {
            for (int i = 0; i < tracked.length; i++) {
                String value = tracked[i];
                if (value != null && !value.equals(theirs[i])) {
                    if (sql == null) {
                        sql = new StringBuilder();
                    }
                    sql.append("SET ").append(trackedNames.name(i)).append(" = ").append(quoteLiteral(value)).append(';');
                }
            }
        }
        if (sql != null) {
            s.internalQueries().send(sql.toString());
        }
    }

    static String quoteLiteral(String v) {
        return "'" + v.replace("'", "''") + "'";
    }

    // ---------------------------------------------------------------- called by the server thread

    /** Server frames for this client. */
    public void writeFromServer(ServerConnection from, byte[] buf, int off, int len) throws IOException {
        out.write(buf, off, len);
    }

    /** A ParameterStatus passed through (or swallowed during our own SET): remember the server's word for it. */
    public void parameterChanged(String name, String value) {
        Integer index = trackedNames.indexOf(name);
        if (index != null) {
            synchronized (tracked) {
                tracked[index] = trackedNames.canonical(value);
            }
        }
    }

    /**
     * The server answered ReadyForQuery: release it if the pool mode allows, then pass the client
     * the server's frames {@code buf[from, to)}, which end with that ReadyForQuery. Releasing
     * first is what PgBouncer's single thread does too: a client that sends its next query the
     * moment it reads ReadyForQuery finds the server already back in the pool.
     */
    public void serverReady(ServerConnection s, char status, byte[] buf, int from, int to) throws IOException {
        Link.AfterReady next = link.ready(s, status, poolMode);
        if (next == Link.AfterReady.RELEASE) {
            // server_reset_query_always: PgBouncer resets after every transaction, not only at disconnect.
            s.giveBack(pooler.settings().serverResetQueryAlways());
            try {
                if (to > from) {
                    writeFromServer(s, buf, from, to - from);
                }
            } catch (IOException e) {
                // The server is no longer ours to fail; this client's own thread sees it is gone.
                log.debug("{}: could not pass ReadyForQuery: {}", this, e.getMessage());
            }
            if (pooler.isShuttingDown()) {
                closeWith(ErrorResponse.fatal(SqlState.ADMIN_SHUTDOWN, Pooler.SERVER_SHUTTING_DOWN));
            }
            return;
        }
        if (to > from) {
            writeFromServer(s, buf, from, to - from);
        }
        if (next == Link.AfterReady.STATEMENT_MODE_VIOLATION) {
            s.close("transaction blocks not allowed in statement pooling mode");
            closeWith(ErrorResponse.fatal(SqlState.PROTOCOL_VIOLATION, "transaction blocks not allowed in statement pooling mode"));
        } else if (status == 'I') {
            pool.fastCloseIfDue(s);
        }
    }

    /** The linked server connection died. Tell the client; keep it if nothing it relied on was lost. */
    public void serverLost(ServerConnection s, String reason) {
        Link.Lost gone = link.lose(s);
        if (gone == null || closing) {
            return;
        }
        int lostRequests = gone.requests();
        if (poolMode == PoolMode.SESSION || gone.inTransaction()) {
            // Session state or an open transaction is gone: the client must learn it the hard way, as
            // from PostgreSQL itself, rather than go on as if it still had them.
            closeWith(ErrorResponse.fatal(SqlState.CONNECTION_FAILURE, "server closed the connection unexpectedly: " + reason));
            return;
        }
        // Autocommit requests in transaction/statement mode: fail them, keep the client; its next
        // transaction gets a fresh server.
        ErrorResponse lost = ErrorResponse.error(SqlState.CONNECTION_FAILURE,
                "server closed the connection unexpectedly: " + reason + "; the request was not completed");
        if (lostRequests > 0) {
            poolerError(lost, lostRequests + " request(s) failed, client kept");
        }
        out.lock();
        try {
            for (int i = 0; i < lostRequests; i++) {
                out.write(lost.encode());
                out.write(Backend.readyForQuery('I'));
            }
            out.flush();
        } catch (IOException e) {
            log.debug("{}: could not report the lost server: {}", this, e.getMessage());
        } finally {
            out.unlock();
        }
    }

    /** Sends a cancel for this client's current query to the server it is linked to right now. */
    public void forwardCancel() {
        DedicatedServer own = dedicated;
        if (own != null) {
            try {
                own.cancel(pooler.settings().cancelWaitTimeout());
                log.info("{}: cancel forwarded to {}", this, own);
            } catch (IOException e) {
                log.warn("{}: could not forward cancel to {}: {}", this, own, e.toString());
            }
            return;
        }
        ServerConnection s = link.serverToCancel(); // counted in flight against s
        if (s == null) {
            return; // nothing running: a stale cancel must not hit whoever holds that server next
        }
        try {
            // cancel_wait_timeout bounds the whole forwarding, connect included (0: no limit).
            s.connector.cancel(s.endpoint, s.backendPid, s.backendSecret, pooler.settings().cancelWaitTimeout());
            log.info("{}: cancel forwarded to {}", this, s);
        } catch (SocketTimeoutException e) {
            log.warn("{}: gave up forwarding cancel to {}: cancel_wait_timeout ({} s) reached", this, s,
                    pooler.settings().cancelWaitTimeout().toMillis() / 1000.0);
        } catch (IOException e) {
            log.warn("{}: could not forward cancel to {}: {}", this, s, e.toString());
        } finally {
            s.cancelsInFlight.decrementAndGet();
        }
    }

    /**
     * The tracked values a new server connection opened for this client starts with; none before
     * the client authenticated (PgBouncer's test_auth_query_no_set_commands). Client thread.
     */
    public Map<String, String> startupParametersForServer() {
        return authenticated ? trackedParameters() : Map.of();
    }

    public Map<String, String> trackedParameters() {
        synchronized (tracked) {
            return trackedNames.asMap(tracked);
        }
    }

    /** This client's name in logs and SHOW CLIENTS' ptr column. */
    public String ptr() {
        return "C-" + Integer.toHexString(cancelPid);
    }

    /**
     * This client as a SHOW CLIENTS row, read without any lock: {@code linked} is the server whose
     * (volatile) {@code link} field names this client's Link, or null; whether it waits is its own
     * volatile field. application_name is read from the tracked values without the link lock: a
     * String reference, never torn, and a String is immutable, so the read sees an old or a new
     * value whole.
     */
    public ConnectionView view(String database, ServerConnection linked, long now, long nowMillis) {
        long waitingSince = waitingSinceNanos;
        DedicatedServer own = dedicated;
        String state = waitingSince != 0 ? "waiting" : linked != null || own != null ? "active" : "idle";
        PreparedStatements named = statements;
        String applicationName = tracked[APPLICATION_NAME];
        Transport transport = out.transport();
        return new ConnectionView("C", user, database, state, transport.remoteAddress(), transport.remotePort(),
                transport.localAddress(), transport.localPort(), connectMillis,
                ConnectionView.epochMillis(lastActivityNanos, now, nowMillis), waitingSince != 0 ? Math.max(0, now - waitingSince) : 0,
                false, ptr(), linked != null ? "S-" + linked.id : own != null ? "S-" + own.id : "", 0, transport.encryption(), applicationName == null ? "" : applicationName,
                named == null ? 0 : named.size(), socketId, replication == null ? "none" : replication);
    }

    void touch() {
        lastActivityNanos = System.nanoTime();
    }

    /** The client was active at {@code nanos} (its link counted a ReadyForQuery or linked a server). */
    public void touch(long nanos) {
        lastActivityNanos = nanos;
    }

    /** For the janitor's idle judgement, which its link makes under the link's lock. */
    public long lastActivityNanos() {
        return lastActivityNanos;
    }

    /** The pool this client logged into; null before that and for the admin console. */
    public Pool pool() {
        return pool;
    }

    public String user() {
        return user;
    }

    public String databaseName() {
        return databaseName;
    }

    /**
     * query_wait_notify: tells this client, while it waits in its pool's line, that it is queued.
     * Only after its login reply went out (the first client of a pool waits during login) and never
     * during a link: a waiting client has no server writing to it, so the notice cannot split a
     * server's message. Called on the client's own thread.
     */
    public void noticeQueued() {
        if (!loggedIn || closing) {
            return;
        }
        try {
            out.send(QUEUED_NOTICE);
        } catch (IOException e) {
            log.debug("{}: could not send the query_wait_notify notice: {}", this, e.getMessage());
        }
    }

    public boolean isLinked() {
        return link.isLinked();
    }

    /** Whether this client is taking a server now (waiting in line, or having one opened for it). */
    public boolean isAcquiring() {
        return acquiring;
    }

    // ---------------------------------------------------------------- closing

    /** Sends a FATAL error and closes; the client thread then ends through its read failing. */
    public void closeWith(ErrorResponse error) {
        if (closing) {
            return;
        }
        refuse(error, null);
        closing = true;
        out.close();
    }

    /** Sends a FATAL error; before login ok it also counts as a refused client, by reason. */
    private void refuseOrClose(ErrorResponse error, String logReason) {
        if (!loggedIn && !closing) {
            pooler.metrics().clientRefused(PoolerMetrics.ClientRefusal.of(error));
        }
        refuse(error, logReason);
    }

    /** Sends a FATAL error, which is then why this client goes; {@code logReason} null: its message. */
    private void refuse(ErrorResponse error, String logReason) {
        if (closing) {
            return;
        }
        noteCloseReason(logReason != null ? logReason : error.message());
        poolerError(error, null);
        // Logged before the client hears it, as PgBouncer does: whoever reads the log after the
        // refusal (an operator's script, PgBouncer's own tests) finds the line there.
        logClosing();
        try {
            out.sendFinal(error.encode());
        } catch (IOException e) {
            log.debug("{}: could not send the error: {}", this, e.getMessage());
        }
    }

    /** True when this thread's read failed because pgloom is stopping: its listener's scope interrupts it. */
    private boolean stopped() {
        return Thread.currentThread().isInterrupted() || pooler.isShuttingDown();
    }

    /** Notes why this client goes, unless a reason was noted first (the first cause is the real one). */
    private void noteCloseReason(String reason) {
        if (closeReason == null) {
            closeReason = reason;
        }
    }

    /**
     * Logs an error pgloom itself sends this client (not one PostgreSQL sent), if log_pooler_errors
     * is on; {@code context}, if not null, says what it meant for the client.
     */
    public void poolerError(ErrorResponse error, String context) {
        if (pooler.settings().logPoolerErrors()) {
            log.warn("{}: pooler error: {}{}", this, error, context == null ? "" : "; " + context);
        }
    }

    /** Final cleanup on the client thread: give back or close the server, close the socket. */
    private void disconnect() {
        closing = true;
        link.clientGone(poolMode == PoolMode.SESSION || pooler.settings().serverResetQueryAlways());
        out.close();
        out.disarm();
        pooler.janitor().remove(this);
        // Before clientGone: once SHOW CLIENTS no longer lists this client, its line is written.
        logClosing();
        pooler.clientGone(this);
    }

    /** The "closing because" line (log_disconnections), once: at the refusal, or else at disconnect. */
    private void logClosing() {
        if (!closeLogged.compareAndSet(false, true)) {
            return;
        }
        if (pooler.settings().logDisconnections() && log.isInfoEnabled()) {
            String reason = closeReason;
            log.info(this + ": closing because: " + (reason == null ? "session ended" : reason) + " (age="
                    + age(System.currentTimeMillis() - connectMillis) + ")");
        }
    }

    /** A connection's age for the log: seconds with milliseconds, as {@code 12.345s}. */
    public static String age(long millis) {
        long ms = Math.max(0, millis);
        int frac = (int) (ms % 1000);
        return ms / 1000 + (frac < 10 ? ".00" : frac < 100 ? ".0" : ".") + frac + "s";
    }
}
