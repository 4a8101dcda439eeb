package io.pgloom.config;

import java.util.Objects;
import java.util.Optional;

/**
 * A user of {@code userlist.txt} with what the file holds for them: a plain-text password, an
 * MD5 hash ({@code "md5" + md5(password + username)}) or a SCRAM-SHA-256 secret.
 */
public record UserSecret(String user, String secret) {

    public enum Kind { PLAIN, MD5, SCRAM }

    public UserSecret {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(secret, "secret");
    }

    /**
     * Classified as PgBouncer does: "md5" followed by 32 more characters is a hash (PgBouncer
     * checks the length, not the hex digits), a well-formed SCRAM secret is SCRAM, anything else
     * is a plain-text password.
     */
    public Kind kind() {
        if (secret.length() == 35 && secret.startsWith("md5")) {
            return Kind.MD5;
        }
        return ScramSecret.parse(secret).isPresent() ? Kind.SCRAM : Kind.PLAIN;
    }

    /** The parsed SCRAM secret when {@link #kind()} is SCRAM. */
    public Optional<ScramSecret> scram() {
        return kind() == Kind.SCRAM ? ScramSecret.parse(secret) : Optional.empty();
    }

    /** Keeps the secret out of logs. */
    @Override
    public String toString() {
        return "UserSecret[" + user + ", " + kind() + "]";
    }
}
