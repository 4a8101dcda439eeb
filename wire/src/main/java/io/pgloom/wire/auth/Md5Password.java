package io.pgloom.wire.auth;

import io.pgloom.config.ScramSecret;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;

/**
 * PostgreSQL's md5 password scheme (protocol message AuthenticationMD5Password). The stored form
 * is {@code "md5" + hex(md5(password + user))}, as in {@code pg_authid} and PgBouncer's
 * {@code userlist.txt}; the client answers a 4-byte salt with
 * {@code "md5" + hex(md5(hex-part-of-stored + salt))}. Because the answer needs only the stored
 * hash, a pooler can log into the server with an md5 secret and no plain password.
 *
 * <p>Stateless; safe from any thread.
 */
public final class Md5Password {
    private static final String PREFIX = "md5";
    /** "md5" and 32 lowercase hex digits, PostgreSQL's MD5_PASSWD_LEN. */
    private static final int STORED_LENGTH = 35;
    private static final int SALT_LENGTH = 4;
    private static final HexFormat HEX = HexFormat.of();
    /** Cloned for each hash (see JcaPrototypes: no per-thread provider lookup). */
    private static final MessageDigest PROTOTYPE = JcaPrototypes.newDigest("MD5");

    private Md5Password() {}

    /** The stored form of {@code password} for {@code user}; PostgreSQL salts with the user name. */
    public static String hash(String user, String password) {
        MessageDigest md5 = md5();
        md5.update(password.getBytes(StandardCharsets.UTF_8));
        md5.update(user.getBytes(StandardCharsets.UTF_8));
        return PREFIX + HEX.formatHex(md5.digest());
    }

    /**
     * What a client sends in its PasswordMessage after an md5 challenge with {@code salt4}.
     *
     * @param storedHash an md5 stored secret ({@link #looksLikeMd5} must hold)
     * @throws IllegalArgumentException if {@code storedHash} is not an md5 secret or the salt is
     *     not 4 bytes (both are our own values, never a peer's)
     */
    public static String response(String storedHash, byte[] salt4) {
        if (!looksLikeMd5(storedHash)) {
            throw new IllegalArgumentException("not an md5 stored secret (\"md5\" + 32 hex digits)");
        }
        checkSalt(salt4);
        MessageDigest md5 = md5();
        md5.update(storedHash.substring(PREFIX.length()).getBytes(StandardCharsets.US_ASCII));
        md5.update(salt4);
        return PREFIX + HEX.formatHex(md5.digest());
    }

    /**
     * Whether {@code clientResponse} answers the md5 challenge {@code salt4} for {@code user}.
     *
     * @param storedSecretOrPlain the userlist/pg_authid entry: an md5 hash or a plain password. A
     *     SCRAM secret cannot answer an md5 challenge (PostgreSQL refuses it too), so it never
     *     verifies.
     */
    public static boolean verify(String storedSecretOrPlain, String user, byte[] salt4, String clientResponse) {
        checkSalt(salt4);
        if (storedSecretOrPlain == null || user == null || clientResponse == null
                || ScramSecret.parse(storedSecretOrPlain).isPresent()) {
            return false;
        }
        String storedHash = looksLikeMd5(storedSecretOrPlain)
                ? storedSecretOrPlain
                : hash(user, storedSecretOrPlain);
        byte[] expected = response(storedHash, salt4).getBytes(StandardCharsets.US_ASCII);
        // Constant time, so response timing does not reveal how many leading characters matched.
        return MessageDigest.isEqual(expected, clientResponse.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * PostgreSQL's test for an md5 secret (get_password_type): exactly "md5" and 32 lowercase hex
     * digits. Anything else in userlist.txt is a plain password (or a SCRAM secret).
     */
    public static boolean looksLikeMd5(String text) {
        if (text == null || text.length() != STORED_LENGTH || !text.startsWith(PREFIX)) {
            return false;
        }
        for (int i = PREFIX.length(); i < STORED_LENGTH; i++) {
            char c = text.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    private static void checkSalt(byte[] salt4) {
        if (salt4 == null || salt4.length != SALT_LENGTH) {
            throw new IllegalArgumentException("md5 salt must be 4 bytes");
        }
    }

    private static MessageDigest md5() {
        return JcaPrototypes.copy(PROTOTYPE);
    }
}
