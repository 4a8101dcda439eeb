package io.pgloom.server.login;

import io.pgloom.config.AuthType;
import io.pgloom.config.DatabaseEntry;
import io.pgloom.config.ScramSecret;
import io.pgloom.config.UserSecret;
import io.pgloom.config.hba.HbaRule;
import io.pgloom.server.control.Pooler;
import io.pgloom.server.frontend.ClientSession;
import io.pgloom.server.net.ConnectionInfo;
import io.pgloom.wire.auth.AuthFailure;
import io.pgloom.wire.auth.Entropy;
import io.pgloom.wire.auth.Md5Password;
import io.pgloom.wire.auth.ScramSecrets;
import io.pgloom.wire.auth.ScramServerExchange;
import io.pgloom.wire.backend.ServerCredentials;
import io.pgloom.wire.protocol.Backend;
import io.pgloom.wire.protocol.FrameReader;
import io.pgloom.wire.protocol.MessageReader;
import io.pgloom.wire.protocol.PgloomError;
import io.pgloom.wire.protocol.ProtocolException;
import io.pgloom.wire.protocol.SqlState;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Optional;

/**
 * Authenticates one client against auth_file, by auth_type, on the client's thread. A user
 * missing from auth_file is looked up with auth_query ({@link AuthQuery}) when the database has an
 * auth_user, and the fetched secret is then used exactly as an auth_file entry would be.
 *
 * <p>An unknown user goes through the same exchange as a known one (against a secret nobody
 * knows) and gets the same error as a wrong password, so the answer does not reveal which user
 * names exist.
 *
 * <p>The exchange is driven from outside: {@link #start} sends the first request, and the caller
 * reads each answer itself and hands it to {@link #accept}. The caller's thread therefore parks
 * for the client's answer at the caller's own stack depth, not several authenticator frames
 * deeper. That matters for idle clients: a virtual thread's stack chunk on the heap keeps the
 * size of the deepest stack the thread ever parked with, and after the login the thread parks
 * for good in the idle read.
 */
public final class ClientAuthenticator {
    /** Largest password, SASLInitialResponse or SASLResponse message accepted. */
    public static final int MAX_AUTH_MESSAGE = 8192;
    private static final byte[] MOCK_SECRET = new byte[32];
    /**
     * The console user PgBouncer lets in without a password when it connects over the Unix socket
     * as the pooler's own OS user: what {@code psql -U pgbouncer pgbouncer} on the pooler's host,
     * and PgBouncer's own test suite, rely on.
     */
    public static final String CONSOLE_OWNER = "pgbouncer";

    static {
        Entropy.bytes(MOCK_SECRET);
    }

    /** What the client's next message answers. */
    private enum Awaiting { NOTHING, CLEARTEXT, MD5, SASL_INITIAL, SASL_FINAL }

    private final Pooler pooler;
    private final ClientSession session;
    private final OutputStream out;
    private final String user;
    /**
     * The connection the client logs in over: what hba rules, certificate and peer authentication
     * decide on (address, TLS, certificate, Unix peer credentials).
     */
    private final ConnectionInfo connection;
    /** The database name the client asked for when pgloom has no such database; null otherwise. */
    private String missingDatabase;

    private Awaiting awaiting = Awaiting.NOTHING;
    private Optional<UserSecret> secret = Optional.empty();
    /** Whether auth_query ran, and whether {@link #secret} came from it rather than from auth_file. */
    private boolean queried;
    /** auth_query returned a row for the user (with or without a password). */
    private boolean roleFound;
    private boolean fetched;
    /** For the log: why there is no secret to check against. */
    private String missing = "unknown user";
    private byte[] md5Salt;
    /** SCRAM only: the exchange, the stored secret (null for the mock exchange of an unknown user). */
    private ScramServerExchange exchange;
    private ScramSecret stored;
    private byte[] scramClientKey;
    private byte[] scramServerKey;
    private boolean consoleOwner;
    /** auth_type hba: the rule that decides this login, named in the log if it fails; else null. */
    private HbaRule hbaRule;

    /**
     * What a successful login leaves for logging into the server as this user: keys a SCRAM
     * login recovered (usable without the password), and the secret auth_query fetched.
     *
     * @param fetched      the secret auth_query fetched; null for an auth_file user
     * @param consoleOwner true if the client was let into the admin console, with admin rights,
     *                     as user pgbouncer of pgloom's own OS user ({@link #CONSOLE_OWNER})
     */
    public record Result(byte[] scramClientKey, byte[] scramServerKey, UserSecret fetched, boolean consoleOwner) {

        /** What pgloom learned from this login to log into the server as {@code user}; null if nothing. */
        public ServerCredentials serverCredentials(String user) {
            if (fetched != null && fetched.kind() != UserSecret.Kind.SCRAM) {
                return fetched.kind() == UserSecret.Kind.PLAIN
                        ? new ServerCredentials(user, fetched.secret(), null, null, null)
                        : new ServerCredentials(user, null, fetched.secret(), null, null);
            }
            return scramClientKey == null ? null : ServerCredentials.none(user).withScramKeys(scramClientKey, scramServerKey);
        }
    }

    /**
     * @param out        the client's output; the requests are written, not flushed (the caller
     *                   flushes before it reads the answer)
     * @param connection what is known about the client's connection
     */
    public ClientAuthenticator(Pooler pooler, ClientSession session, OutputStream out, String user, ConnectionInfo connection) {
        this.pooler = pooler;
        this.session = session;
        this.out = out;
        this.user = user;
        this.connection = connection;
    }

    /**
     * The client asked for a database pgloom does not have: it is authenticated all the same
     * (with auth_file's secret; auth_query has no database to run in), as PostgreSQL and PgBouncer
     * do, and told only then. So an unauthenticated client cannot probe which database names
     * exist, and a wrong password is reported as such whatever the name.
     */
    public void forMissingDatabase(String name) {
        missingDatabase = name;
    }

    /** The connection this client logs in over. */
    public ConnectionInfo connection() {
        return connection;
    }

    /**
     * Begins the exchange for {@code type}: sends the first request, if the type has one. A user
     * missing from auth_file is looked up with auth_query first, if {@code db} has an auth_user.
     *
     * @param db the database the client logs into; null for the admin console (auth_query then runs in the global auth_dbname)
     * @return true if the client must now send a message for {@link #accept}
     */
    public boolean start(AuthType type, DatabaseEntry db) throws IOException, PgloomError, InterruptedException {
        if (db == null && missingDatabase == null && user.equals(CONSOLE_OWNER) && connection.peerIsThisProcessUser()) {
            // Whatever auth_type says, as in PgBouncer: the OS already vouches for this client.
            consoleOwner = true;
            return false;
        }
        if (type == AuthType.HBA) {
            // The rule is chosen before any secret is looked up: a refused client costs no auth_query.
            String database = missingDatabase != null ? missingDatabase : db == null ? Pooler.CONSOLE_DATABASE : db.name();
            hbaRule = HbaLogin.rule(pooler.config().hba(), connection, database, user,
                    session.physicalReplication());
            type = HbaLogin.authType(hbaRule);
        }
        secret = pooler.userSecret(user);
        if (secret.isEmpty() && type != AuthType.ANY && missingDatabase == null) {
            AuthQuery.Lookup found = AuthQuery.lookup(pooler, session, db, user);
            secret = Optional.ofNullable(found.secret());
            queried = found != AuthQuery.Lookup.NOT_CONFIGURED;
            roleFound = found.roleFound();
            fetched = secret.isPresent();
            if (found.why() != null) {
                missing = found.why();
            }
        }
        switch (type) {
            case TRUST -> {
                // A role auth_query finds without a password logs in to the server without one, as in
                // PgBouncer; a name neither source knows is refused. No password was asked for, so
                // saying "no such user" tells the client nothing a password exchange would hide.
                if (secret.isEmpty() && (pooler.hasAuthFile() || queried) && !roleFound) {
                    // PgBouncer's words: trust "authentication failed", "no such user" once auth_query found none.
                    String said = "\"trust\" authentication failed for user \"" + user + "\""
                            + (queried ? ": no such user" : "");
                    throw PgloomError.fatal(SqlState.INVALID_AUTHORIZATION, said)
                            .withLogDetail(missing + ", auth_type trust" + ruleNote());
                }
            }
            case ANY -> {
                // nothing to check
            }
            case PLAIN -> {
                out.write(Backend.authenticationCleartext());
                awaiting = Awaiting.CLEARTEXT;
            }
            case MD5 -> {
                if (secret.isPresent() && secret.get().kind() == UserSecret.Kind.SCRAM) {
                    startScram(); // PgBouncer: an md5 setup still logs SCRAM secrets in with SCRAM
                } else {
                    md5Salt = Entropy.bytes(4);
                    out.write(Backend.authenticationMd5(md5Salt));
                    awaiting = Awaiting.MD5;
                }
            }
            case SCRAM_SHA_256 -> startScram();
            case PEER -> checkPeer();
            case CERT -> checkCert();
            default -> throw PgloomError.fatal(SqlState.INVALID_AUTHORIZATION,
                    "auth_type " + type.configName() + " is not supported by pgloom yet");
        }
        return awaiting != Awaiting.NOTHING;
    }

    /**
     * Takes the client's answer to the last request; throws if it does not authenticate the
     * client, sends the next request if there is one.
     *
     * @return true if the client must send another message
     */
    public boolean accept(FrameReader.Message m) throws IOException, PgloomError {
        if (m.type() != 'p') {
            throw new ProtocolException("expected password response, got message type " + (int) m.type());
        }
        byte[] body = m.body();
        Awaiting answered = awaiting;
        awaiting = Awaiting.NOTHING;
        switch (answered) {
            case CLEARTEXT -> {
                if (secret.isEmpty() || !matchesPlain(secret.get(), password(body))) {
                    throw failed(secret.isEmpty() ? missing + ", auth_type plain" : "wrong password, auth_type plain");
                }
            }
            case MD5 -> {
                if (secret.isEmpty() || !Md5Password.verify(secret.get().secret(), user, md5Salt, password(body))) {
                    throw failed(secret.isEmpty() ? missing + ", md5" : "wrong password, md5");
                }
            }
            case SASL_INITIAL -> saslInitial(body);
            case SASL_FINAL -> saslFinal(body);
            case NOTHING -> throw new IllegalStateException("no authentication request is outstanding");
        }
        return awaiting != Awaiting.NOTHING;
    }

    /** What a successful exchange leaves for the server login. */
    public Result result() {
        return new Result(scramClientKey, scramServerKey, fetched ? secret.get() : null, consoleOwner);
    }

    /**
     * auth_type peer: the OS user at the other end of the Unix socket must be the user asked for.
     * Over TCP nobody can tell who connected, so peer refuses rather than fall back to a password,
     * as PgBouncer does. A user auth_file or auth_query does not know is refused as with trust.
     */
    private void checkPeer() throws PgloomError {
        String why;
        if (secret.isEmpty() && (pooler.hasAuthFile() || queried)) {
            why = missing + ", auth_type peer";
        } else if (!connection.isUnix()) {
            why = "auth_type peer works over the Unix socket only, this client came over TCP";
        } else if (connection.peerCredentials() == null) {
            why = "auth_type peer: this platform does not tell the OS user of a Unix socket client";
        } else if (hbaRule != null && hbaRule.map() != null) {
            if (hbaRule.map().permits(connection.peerCredentials().user().getName(), user)) {
                return;
            }
            // PgBouncer's log words, which its test suite looks for.
            why = "ident map " + hbaRule.map().name() + " cannot be matched for OS user \""
                    + connection.peerCredentials().user().getName() + "\"";
        } else if (!connection.peerCredentials().user().getName().equals(user)) {
            why = "auth_type peer: the client's OS user is \"" + connection.peerCredentials().user().getName() + "\"";
        } else {
            return;
        }
        // PostgreSQL's own words for a peer refusal; the reason goes to the log only.
        throw PgloomError.fatal(SqlState.INVALID_AUTHORIZATION, "Peer authentication failed for user \"" + user + "\"")
                .withLogDetail(why + ruleNote());
    }

    /**
     * auth_type cert and hba's cert: the client certificate, which the TLS handshake already
     * checked against client_tls_ca_file, names the user in its CN; under an hba rule with
     * {@code map=}, the ident map says which users that CN may log in as. A user that auth_file
     * or auth_query does not know is refused as with trust. PostgreSQL's words to the client, the
     * reason to the log.
     */
    private void checkCert() throws PgloomError {
        String cn = connection.peerCommonName();
        String why;
        if (!connection.isEncrypted() || connection.peerCertificate() == null) {
            throw PgloomError.fatal(SqlState.INVALID_AUTHORIZATION, "connection requires a valid client certificate")
                    .withLogDetail((connection.isEncrypted() ? "the client sent no certificate" : "the client did not use TLS")
                            + ", cert" + ruleNote());
        } else if (cn == null) {
            why = "the client certificate has no CN (" + connection.peerCertificate().getSubjectX500Principal() + ")";
        } else if (secret.isEmpty() && (pooler.hasAuthFile() || queried) && !roleFound) {
            why = missing + ", cert";
        } else if (hbaRule != null && hbaRule.map() != null) {
            if (hbaRule.map().permits(cn, user)) {
                return;
            }
            // PgBouncer's log words.
            why = "ident map: " + hbaRule.map().name() + " does not have a match for certificate CN \"" + cn + "\"";
        } else if (!cn.equals(user)) {
            why = "the certificate's CN is \"" + cn + "\"";
        } else {
            return;
        }
        throw PgloomError.fatal(SqlState.INVALID_AUTHORIZATION, "certificate authentication failed for user \"" + user + "\"")
                .withLogDetail(why + ruleNote());
    }

    /** The refusal the client sees, the same whatever went wrong; {@code why} goes to the log only. */
    private PgloomError failed(String why) {
        return PgloomError.fatal(SqlState.INVALID_PASSWORD, "password authentication failed for user \"" + user + "\"")
                .withLogDetail(why + ruleNote());
    }

    /** Under auth_type hba, which rule chose the method that failed. */
    private String ruleNote() {
        return hbaRule == null ? "" : ", hba rule " + hbaRule.location();
    }

    /**
     * A PasswordMessage's password. It must be NUL-terminated, as PostgreSQL and PgBouncer insist:
     * taking an unterminated body whole would accept a message no real client sends.
     */
    private static String password(byte[] body) throws ProtocolException {
        MessageReader r = new MessageReader(body);
        if (!r.hasCString()) {
            throw new ProtocolException("malformed PasswordMessage");
        }
        return r.cstring();
    }

    private boolean matchesPlain(UserSecret s, String given) {
        return switch (s.kind()) {
            case PLAIN -> MessageDigest.isEqual(s.secret().getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8));
            case MD5 -> MessageDigest.isEqual(s.secret().getBytes(StandardCharsets.UTF_8),
                    Md5Password.hash(user, given).getBytes(StandardCharsets.UTF_8));
            case SCRAM -> {
                ScramSecret stored = ScramSecret.parseOrExplain(s.secret());
                ScramSecret computed = ScramSecrets.fromPassword(given, stored.salt(), stored.iterations());
                yield MessageDigest.isEqual(stored.storedKey(), computed.storedKey());
            }
        };
    }

    private void startScram() throws IOException {
        boolean known = secret.isPresent() && secret.get().kind() != UserSecret.Kind.MD5;
        if (!known) {
            // An unknown user (or an md5 hash, which cannot do SCRAM) gets a mock exchange that looks
            // like a real one and always fails, so the answer does not reveal whether the user exists.
            exchange = ScramServerExchange.mock(user, MOCK_SECRET, pooler.scramIterations());
        } else {
            stored = pooler.scramSecret(secret.get());
            exchange = new ScramServerExchange(user, stored);
        }
        out.write(Backend.authenticationSasl(ScramServerExchange.mechanisms()));
        awaiting = Awaiting.SASL_INITIAL;
    }

    private void saslInitial(byte[] initial) throws IOException, PgloomError {
        MessageReader r = new MessageReader(initial);
        String mechanism;
        byte[] clientFirst;
        try {
            mechanism = r.cstring();
            // -1 (no initial response) is legal in the protocol, but SCRAM always sends one.
            clientFirst = r.bytes(r.int32());
        } catch (ProtocolException e) {
            throw new ProtocolException("malformed SASLInitialResponse");
        }
        try {
            byte[] serverFirst = exchange.clientFirst(mechanism, clientFirst);
            out.write(Backend.authenticationSaslContinue(serverFirst));
            awaiting = Awaiting.SASL_FINAL;
        } catch (AuthFailure e) {
            throw scramFailed(e);
        }
    }

    private void saslFinal(byte[] clientFinal) throws IOException, PgloomError {
        try {
            byte[] serverFinal = exchange.clientFinal(clientFinal);
            if (stored == null) {
                throw failed(scramUnknown());
            }
            out.write(Backend.authenticationSaslFinal(serverFinal));
            scramClientKey = exchange.clientKey();
            scramServerKey = stored.serverKey();
        } catch (AuthFailure e) {
            throw scramFailed(e);
        }
    }

    private PgloomError scramFailed(AuthFailure e) {
        return failed(stored == null ? scramUnknown() : "SCRAM: " + e.getMessage());
    }

    /** Why a mock SCRAM exchange was run: no such user, or a secret SCRAM cannot check. */
    private String scramUnknown() {
        return secret.isEmpty() ? missing + ", SCRAM"
                : "SCRAM cannot check the md5 hash " + (fetched ? "auth_query returned" : "auth_file holds") + " for this user";
    }
}
