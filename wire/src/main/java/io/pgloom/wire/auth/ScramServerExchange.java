package io.pgloom.wire.auth;

import io.pgloom.config.ScramSecret;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * pgloom as the SCRAM-SHA-256 server, authenticating one client (PostgreSQL protocol:
 * AuthenticationSASL, SASLInitialResponse, AuthenticationSASLContinue, SASLResponse,
 * AuthenticationSASLFinal). Follows RFC 5802/7677 as PostgreSQL's backend applies them: the
 * user name in the SCRAM message is ignored (the startup packet's counts), no authorization
 * identity, no mandatory extensions, no channel binding yet.
 *
 * <p>Threading: single use, driven by one client session's thread; not thread-safe. The first
 * {@link AuthFailure} ends the exchange, and every later call fails too.
 */
public final class ScramServerExchange {
    private enum State { AWAITING_CLIENT_FIRST, AWAITING_CLIENT_FINAL, SUCCEEDED, FAILED }

    private static final String CLIENT_FIRST = "SCRAM client-first-message";
    private static final String CLIENT_FINAL = "SCRAM client-final-message";

    private final ScramSecret secret;
    private final String serverNonce;
    /** Set for a mock exchange: it runs to the end like a real one and then always fails. */
    private final boolean doomed;

    private State state = State.AWAITING_CLIENT_FIRST;
    private String gs2Header;
    private String nonce;
    private byte[] clientFirstBare;
    private byte[] serverFirst;
    private byte[] clientKey;

    /**
     * @param user the startup packet's user; only the caller's logs need it, SCRAM does not
     * @param secret the user's secret from userlist.txt, or {@link ScramSecrets#fromPassword} of
     *     a plain-text entry
     */
    public ScramServerExchange(String user, ScramSecret secret) {
        this(user, secret, ScramFunctions.newNonce(), false);
    }

    /** With a fixed server nonce, to replay published test vectors. */
    ScramServerExchange(String user, ScramSecret secret, String serverNonce) {
        this(user, secret, serverNonce, false);
    }

    private ScramServerExchange(String user, ScramSecret secret, String serverNonce, boolean doomed) {
        Objects.requireNonNull(user, "user");
        this.secret = Objects.requireNonNull(secret, "secret");
        this.serverNonce = Objects.requireNonNull(serverNonce, "serverNonce");
        if (serverNonce.isEmpty() || !serverNonce.chars().allMatch(c -> c >= 0x21 && c <= 0x7E && c != ',')) {
            throw new IllegalArgumentException("server nonce must be printable ASCII without ','");
        }
        this.doomed = doomed;
    }

    /**
     * An exchange for a user with no usable SCRAM secret (unknown user, or an md5 secret). Like
     * PostgreSQL's mock authentication it looks exactly like a real exchange, with a salt that is
     * stable per user name, and fails only at the end, so that a client cannot probe which users
     * exist.
     *
     * @param instanceSecret random bytes chosen once per pgloom process (or cluster), so the mock
     *     salt cannot be predicted from the user name alone
     */
    public static ScramServerExchange mock(String user, byte[] instanceSecret) {
        return mock(user, instanceSecret, ScramFunctions.DEFAULT_ITERATIONS);
    }

    /**
     * As {@link #mock(String, byte[])}, announcing {@code iterations}: the scram_iterations that a
     * real user's derived secret has, so the iteration count does not tell the two apart either.
     */
    public static ScramServerExchange mock(String user, byte[] instanceSecret, int iterations) {
        byte[] seed = (user + "\0").getBytes(StandardCharsets.UTF_8);
        byte[] material = new byte[seed.length + instanceSecret.length];
        System.arraycopy(seed, 0, material, 0, seed.length);
        System.arraycopy(instanceSecret, 0, material, seed.length, instanceSecret.length);
        byte[] salt = Arrays.copyOf(ScramFunctions.sha256(material), ScramFunctions.DEFAULT_SALT_LENGTH);
        ScramSecret unreachable = new ScramSecret(iterations, salt,
                ScramFunctions.randomBytes(ScramFunctions.KEY_LENGTH),
                ScramFunctions.randomBytes(ScramFunctions.KEY_LENGTH));
        return new ScramServerExchange(user, unreachable, ScramFunctions.newNonce(), true);
    }

    /** The mechanisms to offer in AuthenticationSASL, in order of preference. */
    public static List<String> mechanisms() {
        // SCRAM-SHA-256-PLUS needs tls-server-end-point channel binding, hence TLS: not yet.
        return List.of(ScramFunctions.MECHANISM);
    }

    /**
     * Handles the SASLInitialResponse.
     *
     * @param mechanism the mechanism the client chose
     * @param clientFirstMessage its initial response
     * @return the server-first-message, to send in AuthenticationSASLContinue
     */
    public byte[] clientFirst(String mechanism, byte[] clientFirstMessage) throws AuthFailure {
        if (state != State.AWAITING_CLIENT_FIRST) {
            throw fail("SASLInitialResponse out of order");
        }
        try {
            if (!ScramFunctions.MECHANISM.equals(mechanism)) {
                throw new AuthFailure("client chose SASL mechanism " + printable(mechanism)
                        + ", we offer only " + ScramFunctions.MECHANISM);
            }
            ScramMessageReader in = new ScramMessageReader(clientFirstMessage, CLIENT_FIRST);
            readGs2Header(in);
            int bareStart = in.position();
            if (in.nextIs('m')) {
                throw new AuthFailure(CLIENT_FIRST + ": client requires an unsupported SCRAM extension (m=)");
            }
            in.saslName(in.read('n', "user name"));
            String clientNonce = in.nonce(in.read('r', "nonce"));
            in.skipExtensions('\0');
            clientFirstBare = in.textSince(bareStart).getBytes(StandardCharsets.ISO_8859_1);
            nonce = clientNonce + serverNonce;
            serverFirst = ("r=" + nonce + ",s=" + Base64.getEncoder().encodeToString(secret.salt())
                    + ",i=" + secret.iterations()).getBytes(StandardCharsets.US_ASCII);
            state = State.AWAITING_CLIENT_FINAL;
            return serverFirst.clone();
        } catch (AuthFailure e) {
            state = State.FAILED;
            throw e;
        }
    }

    /**
     * Handles the SASLResponse: checks channel binding, nonce and proof.
     *
     * @return the server-final-message ("v=" ServerSignature), to send in AuthenticationSASLFinal
     *     before AuthenticationOk
     */
    public byte[] clientFinal(byte[] clientFinalMessage) throws AuthFailure {
        if (state != State.AWAITING_CLIENT_FINAL) {
            throw fail("SASLResponse out of order");
        }
        try {
            ScramMessageReader in = new ScramMessageReader(clientFinalMessage, CLIENT_FINAL);
            // Without channel binding, c= must repeat the gs2 header: "biws" is "n,,", "eSws" "y,,".
            String channelBinding = in.read('c', "channel binding");
            if (!channelBinding.equals(base64(gs2Header))) {
                throw new AuthFailure(CLIENT_FINAL + ": channel binding does not match the client-first-message");
            }
            String finalNonce = in.read('r', "nonce");
            if (!MessageDigest.isEqual(finalNonce.getBytes(StandardCharsets.ISO_8859_1),
                    nonce.getBytes(StandardCharsets.ISO_8859_1))) {
                throw new AuthFailure(CLIENT_FINAL + ": nonce does not match");
            }
            in.skipExtensions('p');
            String withoutProof = in.textSince(0);
            byte[] proof = in.base64(in.read('p', "proof"), ScramFunctions.KEY_LENGTH, "proof");
            in.expectEnd();

            byte[] authMessage = ScramFunctions.authMessage(clientFirstBare, serverFirst,
                    withoutProof.getBytes(StandardCharsets.ISO_8859_1));
            byte[] storedKey = secret.storedKey();
            byte[] candidateClientKey = ScramFunctions.xor(proof, ScramFunctions.hmac(storedKey, authMessage));
            // RFC 5802 section 3: the proof is right when H(ClientKey) is the StoredKey. Constant time.
            boolean proofOk = MessageDigest.isEqual(ScramFunctions.sha256(candidateClientKey), storedKey);
            if (doomed) {
                throw new AuthFailure("no SCRAM secret for this user (mock authentication)");
            }
            if (!proofOk) {
                throw new AuthFailure("SCRAM proof is wrong (wrong password)");
            }
            clientKey = candidateClientKey;
            state = State.SUCCEEDED;
            byte[] serverSignature = ScramFunctions.hmac(secret.serverKey(), authMessage);
            return ("v=" + Base64.getEncoder().encodeToString(serverSignature)).getBytes(StandardCharsets.US_ASCII);
        } catch (AuthFailure e) {
            state = State.FAILED;
            throw e;
        }
    }

    /**
     * The client's ClientKey, recovered from its proof (ClientProof XOR ClientSignature). With it
     * and the secret's ServerKey, pgloom can log into a PostgreSQL server holding the same secret
     * as this user, without the plain password ({@link ScramClientExchange#withKeys}).
     *
     * @throws IllegalStateException before the exchange succeeded
     */
    public byte[] clientKey() {
        if (state != State.SUCCEEDED) {
            throw new IllegalStateException("the SCRAM exchange has not succeeded");
        }
        return clientKey.clone();
    }

    /**
     * gs2-header (RFC 5802 section 7): gs2-cbind-flag "," [authzid] ",". We take 'n' (client
     * does no channel binding) and 'y' (client could, but thinks we cannot: true while we offer
     * no -PLUS mechanism; once we do, 'y' signals a downgrade and must be refused).
     */
    private void readGs2Header(ScramMessageReader in) throws AuthFailure {
        if (in.nextIs('p')) {
            throw new AuthFailure(CLIENT_FIRST + ": client requires channel binding, which "
                    + ScramFunctions.MECHANISM + " does not carry");
        }
        int start = in.position();
        if (!in.tryExpect('n') && !in.tryExpect('y')) {
            throw new AuthFailure(CLIENT_FIRST + ": malformed gs2 header (expected n, y or p)");
        }
        in.expect(',', "',' after the channel binding flag");
        if (in.nextIs('a')) {
            throw new AuthFailure(CLIENT_FIRST + ": authorization identity (a=) is not supported");
        }
        in.expect(',', "',' ending the gs2 header");
        gs2Header = in.textSince(start);
    }

    private AuthFailure fail(String message) {
        state = State.FAILED;
        return new AuthFailure(message);
    }

    private static String base64(String text) {
        return Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    /** A client-chosen string made safe for a log line. */
    private static String printable(String s) {
        if (s == null) {
            return "(none)";
        }
        StringBuilder out = new StringBuilder("\"");
        s.codePoints().limit(64).forEach(c -> out.append(c >= 0x20 && c < 0x7F ? (char) c : '?'));
        return out.append(s.length() > 64 ? "...\"" : "\"").toString();
    }
}
