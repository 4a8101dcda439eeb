package io.pgloom.config;

import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;
import java.util.Optional;

/**
 * A stored SCRAM-SHA-256 secret, {@code SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>}
 * (RFC 5803, the form PostgreSQL keeps in pg_authid and PgBouncer accepts in userlist.txt).
 * The arrays are copied in and out: a secret must not change under its user.
 */
public record ScramSecret(int iterations, byte[] salt, byte[] storedKey, byte[] serverKey) {

    public static final String PREFIX = "SCRAM-SHA-256$";

    /** SHA-256 output; PostgreSQL refuses stored and server keys of any other length. */
    private static final int KEY_LENGTH = 32;

    /**
     * @throws IllegalArgumentException unless iterations is at least 1, the salt non-empty and
     *     both keys 32 bytes
     */
    public ScramSecret {
        Objects.requireNonNull(salt, "salt");
        Objects.requireNonNull(storedKey, "storedKey");
        Objects.requireNonNull(serverKey, "serverKey");
        if (iterations < 1) {
            throw new IllegalArgumentException("the iteration count must be positive");
        }
        if (salt.length == 0) {
            throw new IllegalArgumentException("the salt is empty");
        }
        if (storedKey.length != KEY_LENGTH || serverKey.length != KEY_LENGTH) {
            throw new IllegalArgumentException("StoredKey and ServerKey must be " + KEY_LENGTH + " bytes each");
        }
        salt = salt.clone();
        storedKey = storedKey.clone();
        serverKey = serverKey.clone();
    }

    /**
     * The secret, or empty when {@code text} is not a well-formed SCRAM-SHA-256 secret (PostgreSQL's
     * own test: get_password_type tries to parse it). A plain password is answered without an
     * exception, since this runs at every login.
     */
    public static Optional<ScramSecret> parse(String text) {
        if (text == null || !text.startsWith(PREFIX)) {
            return Optional.empty();
        }
        try {
            return Optional.of(parseOrExplain(text));
        } catch (IllegalArgumentException notScram) {
            return Optional.empty();
        }
    }

    /**
     * The one parser of the stored form, used by the userlist check and by authentication.
     *
     * @throws IllegalArgumentException saying which part is malformed (never quoting the text)
     */
    public static ScramSecret parseOrExplain(String text) {
        if (text == null || !text.startsWith(PREFIX)) {
            throw new IllegalArgumentException("does not start with " + PREFIX);
        }
        String[] halves = text.substring(PREFIX.length()).split("\\$", -1);
        if (halves.length != 2) {
            throw new IllegalArgumentException("expected <iterations>:<salt>$<StoredKey>:<ServerKey>");
        }
        String[] iterationsAndSalt = halves[0].split(":", -1);
        String[] keys = halves[1].split(":", -1);
        if (iterationsAndSalt.length != 2 || keys.length != 2) {
            throw new IllegalArgumentException("expected <iterations>:<salt>$<StoredKey>:<ServerKey>");
        }
        int iterations;
        try {
            iterations = Integer.parseInt(iterationsAndSalt[0]);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("the iteration count is not a number");
        }
        return new ScramSecret(iterations, decode(iterationsAndSalt[1], "salt"), decode(keys[0], "StoredKey"),
                decode(keys[1], "ServerKey"));
    }

    /** The stored form, as PostgreSQL writes it (standard base64 with padding). */
    public String format() {
        Base64.Encoder b64 = Base64.getEncoder();
        return PREFIX + iterations + ":" + b64.encodeToString(salt) + "$"
                + b64.encodeToString(storedKey) + ":" + b64.encodeToString(serverKey);
    }

    private static byte[] decode(String base64, String what) {
        try {
            return Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("the " + what + " is not valid base64");
        }
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
    public boolean equals(Object other) {
        return other instanceof ScramSecret that && iterations == that.iterations && Arrays.equals(salt, that.salt)
                && Arrays.equals(storedKey, that.storedKey) && Arrays.equals(serverKey, that.serverKey);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * (31 * iterations + Arrays.hashCode(salt)) + Arrays.hashCode(storedKey))
                + Arrays.hashCode(serverKey);
    }

    /** Keeps key material out of logs. */
    @Override
    public String toString() {
        return "ScramSecret[iterations=" + iterations + "]";
    }
}
