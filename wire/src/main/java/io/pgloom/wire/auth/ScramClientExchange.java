package io.pgloom.wire.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

/**
 * pgloom as the SCRAM-SHA-256 client, logging into a PostgreSQL server (or another pooler) with
 * a plain password or, for SCRAM pass-through, with the ClientKey and ServerKey recovered from a
 * client's own exchange. Behaves like libpq: empty user name in the message (PostgreSQL takes the
 * startup packet's), gs2 header "n,,", 18-byte nonce.
 *
 * <p>Threading: single use, driven by one server connection's thread; not thread-safe. The first
 * {@link AuthFailure} ends the exchange, and every later call fails too.
 */
public final class ScramClientExchange {
    /** The SASL mechanism to pick from AuthenticationSASL's list. */
    public static final String MECHANISM = ScramFunctions.MECHANISM;
    /**
     * The highest iteration count we compute Hi() for. PostgreSQL's default is 4096; a hostile or
     * broken server must not make us burn seconds of CPU per connection.
     */
    static final int MAX_ITERATIONS = 10_000_000;
    /** The longest combined nonce taken from a server (PostgreSQL's is 48 characters). */
    static final int MAX_NONCE = 1024;
    /** The longest salt taken from a server (PostgreSQL's is 16 bytes). */
    static final int MAX_SALT = 1024;

    private enum State { INITIAL, SENT_CLIENT_FIRST, SENT_CLIENT_FINAL, SUCCEEDED, FAILED }

    private static final String GS2_HEADER = "n,,";
    private static final String SERVER_FIRST = "SCRAM server-first-message";
    private static final String SERVER_FINAL = "SCRAM server-final-message";

    /** SASLprepped password; null in pass-through mode. Zeroed once used. */
    private final byte[] password;
    /** Pass-through keys; null in password mode. */
    private final byte[] passThroughClientKey;
    private final byte[] passThroughServerKey;
    private final String saslUser;
    private final String clientNonce;

    private State state = State.INITIAL;
    private String clientFirstBare;
    private byte[] expectedServerSignature;

    /** Logs in with a plain password (SASLprepped as PostgreSQL does). */
    public ScramClientExchange(String password) {
        this(SaslPrep.prepare(Objects.requireNonNull(password, "password")), null, null, "", ScramFunctions.newNonce());
    }

    /** With a fixed user name and nonce, to replay published test vectors. */
    ScramClientExchange(String password, String saslUser, String clientNonce) {
        this(SaslPrep.prepare(password), null, null, saslUser, clientNonce);
    }

    private ScramClientExchange(byte[] password, byte[] clientKey, byte[] serverKey, String saslUser, String clientNonce) {
        this.password = password;
        this.passThroughClientKey = clientKey;
        this.passThroughServerKey = serverKey;
        this.saslUser = saslUser.replace("=", "=3D").replace(",", "=2C");
        this.clientNonce = Objects.requireNonNull(clientNonce, "clientNonce");
        if (clientNonce.isEmpty() || !clientNonce.chars().allMatch(c -> c >= 0x21 && c <= 0x7E && c != ',')) {
            throw new IllegalArgumentException("client nonce must be printable ASCII without ','");
        }
    }

    /**
     * SCRAM pass-through: logs in with keys instead of a password, as PgBouncer does when its
     * auth_file holds SCRAM secrets. The proof is ClientKey XOR HMAC(H(ClientKey), AuthMessage)
     * and the server is checked with ServerKey; the server's salt and iteration count are not
     * needed, but the login works only if the server holds the very secret the keys came from.
     *
     * @param clientKey from {@link ScramServerExchange#clientKey()} after the client logged in
     * @param serverKey the ServerKey of the same secret
     */
    public static ScramClientExchange withKeys(byte[] clientKey, byte[] serverKey) {
        return withKeys(clientKey, serverKey, "", ScramFunctions.newNonce());
    }

    /** With a fixed user name and nonce, to replay published test vectors. */
    static ScramClientExchange withKeys(byte[] clientKey, byte[] serverKey, String saslUser, String clientNonce) {
        if (clientKey == null || serverKey == null
                || clientKey.length != ScramFunctions.KEY_LENGTH || serverKey.length != ScramFunctions.KEY_LENGTH) {
            throw new IllegalArgumentException("SCRAM-SHA-256 keys must be 32 bytes");
        }
        return new ScramClientExchange(null, clientKey.clone(), serverKey.clone(), saslUser, clientNonce);
    }

    /** The client-first-message, to send in SASLInitialResponse. Call once, first. */
    public byte[] clientFirstMessage() {
        if (state != State.INITIAL) {
            throw new IllegalStateException("client-first-message already sent");
        }
        clientFirstBare = "n=" + saslUser + ",r=" + clientNonce;
        state = State.SENT_CLIENT_FIRST;
        return (GS2_HEADER + clientFirstBare).getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Answers the server-first-message (AuthenticationSASLContinue).
     *
     * @return the client-final-message with our proof, to send in SASLResponse
     */
    public byte[] clientFinalMessage(byte[] serverFirstMessage) throws AuthFailure {
        if (state != State.SENT_CLIENT_FIRST) {
            throw fail("AuthenticationSASLContinue out of order");
        }
        try {
            ScramMessageReader in = new ScramMessageReader(serverFirstMessage, SERVER_FIRST);
            if (in.nextIs('m')) {
                throw new AuthFailure(SERVER_FIRST + ": server requires an unsupported SCRAM extension (m=)");
            }
            String nonce = in.nonce(in.read('r', "nonce"));
            // The server must extend our nonce with its own part (RFC 5802 section 5.1).
            if (nonce.length() <= clientNonce.length() || !nonce.startsWith(clientNonce)) {
                throw new AuthFailure(SERVER_FIRST + ": nonce does not extend ours");
            }
            // PostgreSQL's nonce is 48 characters, ours included. A longer one than any server sends
            // is refused, as PgBouncer 1.25.2 does, rather than echoed into our answer.
            if (nonce.length() > MAX_NONCE) {
                throw new AuthFailure(SERVER_FIRST + ": nonce of " + nonce.length() + " characters, over " + MAX_NONCE);
            }
            byte[] salt = in.base64(in.read('s', "salt"), -1, "salt");
            if (salt.length > MAX_SALT) {
                throw new AuthFailure(SERVER_FIRST + ": salt of " + salt.length + " bytes, over " + MAX_SALT);
            }
            int iterations = iterations(in.read('i', "iteration count"));
            in.skipExtensions('\0');

            byte[] clientKey;
            byte[] serverKey;
            if (password != null) {
                byte[] saltedPassword = ScramFunctions.hi(password, salt, iterations);
                Arrays.fill(password, (byte) 0);
                clientKey = ScramFunctions.clientKey(saltedPassword);
                serverKey = ScramFunctions.serverKey(saltedPassword);
            } else {
                clientKey = passThroughClientKey;
                serverKey = passThroughServerKey;
            }
            String withoutProof = "c=" + Base64.getEncoder().encodeToString(GS2_HEADER.getBytes(StandardCharsets.US_ASCII))
                    + ",r=" + nonce;
            byte[] authMessage = ScramFunctions.authMessage(
                    clientFirstBare.getBytes(StandardCharsets.UTF_8), serverFirstMessage,
                    withoutProof.getBytes(StandardCharsets.ISO_8859_1));
            byte[] storedKey = ScramFunctions.sha256(clientKey);
            byte[] proof = ScramFunctions.xor(clientKey, ScramFunctions.hmac(storedKey, authMessage));
            expectedServerSignature = ScramFunctions.hmac(serverKey, authMessage);
            state = State.SENT_CLIENT_FINAL;
            return (withoutProof + ",p=" + Base64.getEncoder().encodeToString(proof))
                    .getBytes(StandardCharsets.ISO_8859_1);
        } catch (AuthFailure e) {
            state = State.FAILED;
            throw e;
        }
    }

    /**
     * Checks the server-final-message (AuthenticationSASLFinal): the server proves it knows the
     * secret too, so a man in the middle cannot just say AuthenticationOk.
     *
     * @throws AuthFailure on a wrong signature, or "e=" (the server's error, quoted for the log)
     */
    public void verifyServerFinal(byte[] serverFinalMessage) throws AuthFailure {
        if (state != State.SENT_CLIENT_FINAL) {
            throw fail("AuthenticationSASLFinal out of order");
        }
        try {
            ScramMessageReader in = new ScramMessageReader(serverFinalMessage, SERVER_FINAL);
            if (in.nextIs('e')) {
                throw new AuthFailure("server refused SCRAM authentication: " + logSafe(in.read('e', "error")));
            }
            byte[] signature = in.base64(in.read('v', "server signature"), ScramFunctions.KEY_LENGTH, "server signature");
            in.skipExtensions('\0');
            if (!MessageDigest.isEqual(signature, expectedServerSignature)) {
                throw new AuthFailure(SERVER_FINAL + ": wrong server signature (the server does not hold our secret)");
            }
            state = State.SUCCEEDED;
        } catch (AuthFailure e) {
            state = State.FAILED;
            throw e;
        }
    }

    private static int iterations(String digits) throws AuthFailure {
        if (digits.isEmpty() || digits.length() > 9 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new AuthFailure(SERVER_FIRST + ": iteration count is not a decimal number in 1.."
                    + MAX_ITERATIONS);
        }
        int iterations = Integer.parseInt(digits);
        if (iterations < 1 || iterations > MAX_ITERATIONS) {
            throw new AuthFailure(SERVER_FIRST + ": iteration count " + iterations + " is outside 1.."
                    + MAX_ITERATIONS);
        }
        return iterations;
    }

    private AuthFailure fail(String message) {
        state = State.FAILED;
        return new AuthFailure(message);
    }

    /** The server's error text, trimmed to printable ASCII for a log line. */
    private static String logSafe(String serverText) {
        StringBuilder out = new StringBuilder();
        serverText.chars().limit(200).forEach(c -> out.append(c >= 0x20 && c < 0x7F ? (char) c : '?'));
        return out.toString();
    }
}
