package io.pgloom.wire.auth;

import io.pgloom.config.ScramSecret;

/**
 * Computes {@link ScramSecret}s from passwords. The secret itself, its stored form and its parser
 * live in the config module, which reads them from userlist.txt.
 */
public final class ScramSecrets {

    /** PostgreSQL's (and PgBouncer's scram_iterations') default PBKDF2 cost. */
    public static final int DEFAULT_ITERATIONS = ScramFunctions.DEFAULT_ITERATIONS;

    private ScramSecrets() {
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
        return fromPassword(password, DEFAULT_ITERATIONS);
    }

    /** As {@link #fromPassword(String)} with {@code iterations} PBKDF2 rounds (scram_iterations). */
    public static ScramSecret fromPassword(String password, int iterations) {
        return fromPassword(password, ScramFunctions.randomBytes(ScramFunctions.DEFAULT_SALT_LENGTH), iterations);
    }

    static ScramSecret fromPreparedPassword(byte[] preparedPassword, byte[] salt, int iterations) {
        byte[] saltedPassword = ScramFunctions.hi(preparedPassword, salt, iterations);
        byte[] clientKey = ScramFunctions.clientKey(saltedPassword);
        return new ScramSecret(iterations, salt, ScramFunctions.sha256(clientKey),
                ScramFunctions.serverKey(saltedPassword));
    }
}
