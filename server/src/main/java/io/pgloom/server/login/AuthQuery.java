package io.pgloom.server.login;

import io.pgloom.config.DatabaseEntry;
import io.pgloom.config.UserSecret;
import io.pgloom.server.backend.InternalQueries;
import io.pgloom.server.backend.ServerConnection;
import io.pgloom.server.control.Pooler;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.server.pool.Pool;
import io.pgloom.wire.protocol.MessageReader;
import io.pgloom.wire.protocol.PgloomError;
import io.pgloom.wire.protocol.ProtocolException;
import io.pgloom.wire.protocol.SqlState;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * PgBouncer's auth_query: the secret of a user missing from auth_file, fetched from PostgreSQL by
 * {@code auth_user} on the client's thread, during its login.
 *
 * <p>Which settings apply: the database entry's {@code auth_user}, {@code auth_query} and
 * {@code auth_dbname} beat the global ones. The query runs in the pool of ({@code auth_dbname}'s
 * entry, or the client's own, {@code auth_user}), as PgBouncer runs it, so its server connections
 * are reused from one login to the next; the user name goes as the one parameter ($1) of an
 * extended-protocol statement, never spliced into the SQL. Nothing is cached: every login of such
 * a user runs the query again, as in PgBouncer, so a changed or expired password counts at once.
 *
 * <p>The client never learns whether the user exists: no row, a NULL password (the default query
 * returns NULL once rolvaliduntil has passed) and an empty one all go on as an unknown user, whose
 * exchange fails with the same error as a wrong password. Only the log says which it was.
 */
final class AuthQuery {
    private static final Logger log = LoggerFactory.getLogger(AuthQuery.class);

    private AuthQuery() {
    }

    /**
     * What the lookup found.
     *
     * @param secret the user's secret; null when there is none to check a password against
     * @param why    for the log, why there is none; null when the lookup did not run (no auth_user)
     */
    record Lookup(UserSecret secret, String why, boolean roleFound) {
        static final Lookup NOT_CONFIGURED = new Lookup(null, null, false);

        static Lookup unknown(String why) {
            return new Lookup(null, why, false);
        }
    }

    /**
     * Fetches {@code user}'s secret for a login to {@code db}. Throws {@link PgloomError} when the
     * query cannot be run (a config error, a server that cannot be reached or refuses auth_user, a
     * failing query), after a log line that names the client and the reason.
     */
    static Lookup lookup(Pooler pooler, ClientSession client, DatabaseEntry db, String user)
            throws PgloomError, InterruptedException {
        var settings = pooler.config().settings();
        if (db == null) {
            return lookupForConsole(pooler, client, user);
        }
        String authUser = orGlobal(db.authUser(), settings.string("auth_user"));
        if (authUser == null) {
            return Lookup.NOT_CONFIGURED;
        }
        String sql = orGlobal(db.authQuery(), settings.string("auth_query"));
        if (sql == null) {
            log.error("{}: auth_user is set but auth_query is empty", client);
            throw configError("auth_query is empty");
        }
        DatabaseEntry authDb = authDatabase(pooler, client, db);
        Pool pool = pooler.authPool(authDb, authUser);
        ServerConnection s;
        try {
            s = pool.acquireOrFail(client);
        } catch (PgloomError e) {
            String hint = pooler.userSecret(authUser).isEmpty() && authDb.password() == null
                    ? " (auth_user \"" + authUser + "\" is not in auth_file, so pgloom logs in without a password)" : "";
            log.warn("{}: cannot run auth_query: auth_user \"{}\" cannot log into database \"{}\": {}{}",
                    client, authUser, authDb.name(), e.response(), hint);
            if (SqlState.INVALID_CATALOG_NAME.equals(e.response().sqlState())) {
                // The database the client asked for does not exist on the server: that is the
                // client's answer, in the server's words, as PgBouncer passes it on.
                throw new PgloomError(e.response()).withLogDetail("auth_query: auth_user login failed" + hint);
            }
            String message = e.getMessage().startsWith("server login has been failing") ? e.getMessage()
                    : "server login has been failing, cached error: " + e.getMessage() + " (server_login_retry)";
            throw PgloomError.fatal(SqlState.PROTOCOL_VIOLATION, message).withLogDetail("auth_query: auth_user login failed" + hint);
        }
        InternalQueries.Answer answer;
        try {
            answer = s.internalQueries().extendedQuery(sql, user, pool.settings().checkTimeoutNanos());
        } catch (InterruptedException e) {
            s.close("auth_query interrupted");
            throw e;
        }
        if (answer.failure() != null && (answer.error() == null || s.isClosed())) {
            // The connection itself failed (lost, terminated, or no answer in time): it serves nobody else.
            s.close("auth_query failed: " + answer.failure());
            log.warn("{}: auth_query on {} failed: {}", client, s, answer.failure());
            throw PgloomError.fatal(SqlState.CONNECTION_FAILURE, "server conn crashed?")
                    .withLogDetail("auth_query: " + answer.failure());
        }
        pool.release(s); // closed by release if the query left a transaction open
        if (answer.error() != null) {
            log.warn("{}: auth_query failed: {}", client, answer.error());
            throw queryFailed("the server answered " + answer.error());
        }
        if (answer.columns() != 2) {
            log.warn("{}: auth_query returned {} columns; it must return 2 (user name, password)", client, answer.columns());
            throw queryFailed("auth_query returned " + answer.columns() + " columns, not 2");
        }
        if (answer.rows().isEmpty()) {
            return Lookup.unknown("unknown user (auth_query found no row)");
        }
        String[] row = columns(answer.rows().getFirst());
        if (row == null) {
            log.warn("{}: auth_query returned a malformed row", client);
            throw queryFailed("auth_query returned a malformed row");
        }
        if (row[0] == null) {
            // A lookup function written as PgBouncer's docs show returns one row of NULLs for an unknown user.
            return Lookup.unknown("unknown user (auth_query returned a NULL user name)");
        }
        if (row[1] == null || row[1].isEmpty()) {
            return new Lookup(null, "auth_query returned no password (NULL or empty: the role has none, or it expired)", true);
        }
        return new Lookup(new UserSecret(user, row[1]), null, true);
    }

    /**
     * A console login of a user auth_file lacks, as PgBouncer takes it: the global auth_user runs
     * auth_query in the global auth_dbname. The console has no server of its own, so without an
     * auth_dbname (or with auth_dbname = pgbouncer) that is a configuration error.
     */
    private static Lookup lookupForConsole(Pooler pooler, ClientSession client, String user)
            throws PgloomError, InterruptedException {
        var settings = pooler.config().settings();
        if (orGlobal(null, settings.string("auth_user")) == null) {
            return Lookup.NOT_CONFIGURED;
        }
        String name = orGlobal(null, settings.string("auth_dbname"));
        if (name == null || name.equals(Pooler.CONSOLE_DATABASE)) {
            log.error("{}: cannot use the reserved \"{}\" database as an auth_dbname", client, Pooler.CONSOLE_DATABASE);
            throw configError("a console login through auth_query needs auth_dbname to name a database");
        }
        DatabaseEntry authDb = pooler.database(name).orElse(null);
        if (authDb == null) {
            log.error("{}: authentication database \"{}\" is not configured", client, name);
            throw configError("authentication database \"" + name + "\" is not configured");
        }
        return lookup(pooler, client, authDb, user);
    }

    private static String orGlobal(String local, String global) {
        String v = local != null ? local : global;
        return v == null || v.isEmpty() ? null : v;
    }

    /** The database whose connection runs the query: auth_dbname of the entry, else the global one, else the client's. */
    private static DatabaseEntry authDatabase(Pooler pooler, ClientSession client, DatabaseEntry db) throws PgloomError {
        String name = orGlobal(db.authDbname(), pooler.config().settings().string("auth_dbname"));
        if (name == null) {
            return db;
        }
        if (name.equals(Pooler.CONSOLE_DATABASE)) {
            log.error("{}: cannot use the reserved \"{}\" database as an auth_dbname", client, name);
            throw configError("auth_dbname names the admin console");
        }
        DatabaseEntry authDb = pooler.database(name).orElse(null);
        if (authDb == null) {
            log.error("{}: authentication database \"{}\" is not configured", client, name);
            throw configError("authentication database \"" + name + "\" is not configured");
        }
        if (pooler.isDisabled(name)) {
            throw PgloomError.fatal(SqlState.PROTOCOL_VIOLATION, "authentication database \"" + name + "\" is disabled");
        }
        return authDb;
    }

    /** PgBouncer's answer to a login its own configuration cannot serve; {@code why} goes to the log. */
    private static PgloomError configError(String why) {
        return PgloomError.fatal(SqlState.PROTOCOL_VIOLATION, "bouncer config error").withLogDetail(why);
    }

    /** The query ran but its answer is unusable: the client learns that much, the log says why. */
    private static PgloomError queryFailed(String why) {
        // PgBouncer's words first: a failing auth_query is the pooler's configuration at fault, not the client.
        return PgloomError.fatal(SqlState.PROTOCOL_VIOLATION, "bouncer config error: auth_query failed").withLogDetail(why);
    }

    /** The two text columns of a DataRow body, null for SQL NULL; null if the row is not two well-formed columns. */
    private static String[] columns(byte[] row) {
        MessageReader r = new MessageReader(row);
        try {
            if (r.int16() != 2) {
                return null;
            }
            String[] out = new String[2];
            for (int i = 0; i < 2; i++) {
                int len = r.int32();
                if (len != -1) {
                    out[i] = new String(r.bytes(len), StandardCharsets.UTF_8);
                }
            }
            return out;
        } catch (ProtocolException e) {
            return null;
        }
    }
}
