package io.pgloom.server.auth;

import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

/**
 * A SCRAM-SHA-256 stored secret as PostgreSQL keeps it in {@code pg_authid.rolpassword} and
 * PgBouncer reads it from {@code userlist.txt}:
 * {@code SCRAM-SHA-256$<iterations>:<salt base64>$<StoredKey base64>:<ServerKey base64>}.
 * It lets a server verify a client without knowing the password, and (with the ClientKey a
 * client's proof reveals) log into another server that holds the same secret.
 *
 * <p>Immutable: the arrays are copied in and out. {@link #toString()} leaves the keys out, so a
 * secret never lands in a log by accident.
 */
public record ScramSecret(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey) {
    private static final String PREFIX = ScramFunctions.MECHANISM + "$";

    /**
     * @throws IllegalArgumentException unless iterations is at least 1, the salt non-empty and
     *     both keys 32 bytes
     */
    public ScramSecret {
        Objects.requireNonNull(salt, "salt");
        Objects.requireNonNull(storedKey, "storedKey");
        Objects.requireNonNull(serverKey, "serverKey");
        if (iterations < 1) {
            throw new IllegalArgumentException("SCRAM iteration count must be at least 1");
        }
        if (salt.length == 0) {
            throw new IllegalArgumentException("SCRAM salt must not be empty");
        }
        if (storedKey.length != ScramFunctions.KEY_LENGTH || serverKey.length != ScramFunctions.KEY_LENGTH) {
            throw new IllegalArgumentException("SCRAM-SHA-256 keys must be 32 bytes");
        }
        salt = salt.clone();
        storedKey = storedKey.clone();
        serverKey = serverKey.clone();
    }

    /**
     * Parses the stored form. Error messages never quote the text, which may be a password.
     *
     * @throws IllegalArgumentException if {@code text} is not a SCRAM-SHA-256 secret
     */
    public static ScramSecret parse(String text) {
        // One parser for the stored form: the config module's, which also checks userlist.txt.
        io.pgloom.config.ScramSecret parsed = io.pgloom.config.ScramSecret.parseOrExplain(text);
        return new ScramSecret(parsed.iterations(), parsed.salt(), parsed.storedKey(), parsed.serverKey());
    }

    /**
     * Whether {@code text} is a well-formed SCRAM-SHA-256 secret, PostgreSQL's own test
     * (get_password_type tries to parse it). Anything else in userlist.txt is an md5 hash or a
     * plain password.
     */
    public static boolean looksLikeScram(String text) {
        if (text == null || !text.startsWith(PREFIX)) {
            return false;
        }
        try {
            parse(text);
            return true;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** The secret for {@code password} (SASLprepped as PostgreSQL does) with this salt and cost. */
    public static ScramSecret fromPassword(String password, byte[] salt, int iterations) {
        return fromPreparedPassword(SaslPrep.prepare(password), salt, iterations);
    }

    /**
     * The secret for {@code password} with a fresh random 16-byte salt and 4096 iterations,
     * PostgreSQL's defaults: what a plain-text userlist entry stands for when a client
     * authenticates with SCRAM.
     */
    public static ScramSecret fromPassword(String password) {
        return fromPassword(password, ScramFunctions.randomBytes(ScramFunctions.DEFAULT_SALT_LENGTH),
                ScramFunctions.DEFAULT_ITERATIONS);
    }

    static ScramSecret fromPreparedPassword(byte[] preparedPassword, byte[] salt, int iterations) {
        byte[] saltedPassword = ScramFunctions.hi(preparedPassword, salt, iterations);
        byte[] clientKey = ScramFunctions.clientKey(saltedPassword);
        return new ScramSecret(iterations, salt, ScramFunctions.sha256(clientKey),
                ScramFunctions.serverKey(saltedPassword));
    }

    /** The stored form, as PostgreSQL writes it (standard base64 with padding). */
    public String format() {
        Base64.Encoder b64 = Base64.getEncoder();
        return PREFIX + iterations + ":" + b64.encodeToString(salt) + "$"
                + b64.encodeToString(storedKey) + ":" + b64.encodeToString(serverKey);
    }

    @Override
    public byte[] salt() {
        return salt.clone();
    }

    @Override
    public byte[] storedKey() {
        return storedKey.clone();
    }

    @Override
    public byte[] serverKey() {
        return serverKey.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ScramSecret other
                && iterations == other.iterations
                && Arrays.equals(salt, other.salt)
                && Arrays.equals(storedKey, other.storedKey)
                && Arrays.equals(serverKey, other.serverKey);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * iterations + Arrays.hashCode(salt)) + Arrays.hashCode(storedKey))
                + Arrays.hashCode(serverKey);
    }

    @Override
    public String toString() {
        return "ScramSecret[iterations=" + iterations + ", salt=" + Base64.getEncoder().encodeToString(salt)
                + ", keys=<redacted>]";
    }
}
