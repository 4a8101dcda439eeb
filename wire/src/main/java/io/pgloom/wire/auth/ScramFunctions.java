package io.pgloom.wire.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The SCRAM functions of RFC 5802 section 2.2 (H, HMAC, Hi) and the key derivations of its
 * section 3, with SHA-256 as RFC 7677 fixes them for SCRAM-SHA-256. Stateless; safe from any
 * thread.
 */
final class ScramFunctions {
    static final String MECHANISM = "SCRAM-SHA-256";
    /** SHA-256 output length: ClientKey, StoredKey, ServerKey, proofs and signatures. */
    static final int KEY_LENGTH = 32;
    /** Random bytes in a nonce: PostgreSQL's and libpq's SCRAM_RAW_NONCE_LEN. */
    static final int NONCE_BYTES = 18;
    /** PostgreSQL's SCRAM_DEFAULT_SALT_LEN and the default of scram_iterations. */
    static final int DEFAULT_SALT_LENGTH = 16;
    static final int DEFAULT_ITERATIONS = 4096;

    private static final String HMAC = "HmacSHA256";
    private static final byte[] CLIENT_KEY = "Client Key".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SERVER_KEY = "Server Key".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] BLOCK_ONE = {0, 0, 0, 1};
    /** Cloned for each use (see JcaPrototypes: no per-thread provider lookup on client threads). */
    private static final MessageDigest SHA256 = JcaPrototypes.newDigest("SHA-256");
    private static final Mac HMAC_SHA256 = JcaPrototypes.newMac(HMAC);

    private ScramFunctions() {}

    static byte[] hmac(byte[] key, byte[] data) {
        return mac(key).doFinal(data);
    }

    static byte[] sha256(byte[] data) {
        return JcaPrototypes.copy(SHA256).digest(data);
    }

    /**
     * Hi(password, salt, i): PBKDF2 with HMAC-SHA-256 and dkLen 32, so a single block: U1 =
     * HMAC(password, salt || INT(1)), Uj = HMAC(password, Uj-1), result U1 ^ ... ^ Ui. Written
     * out rather than taken from SecretKeyFactory because PBEKeySpec wants the password as char[]
     * and encodes it itself, while SCRAM must hash the exact SASLprepped (or raw) bytes.
     */
    static byte[] hi(byte[] password, byte[] salt, int iterations) {
        if (iterations < 1) {
            throw new IllegalArgumentException("iteration count must be at least 1");
        }
        return HeavyWork.run(() -> pbkdf2(password, salt, iterations));
    }

    private static byte[] pbkdf2(byte[] password, byte[] salt, int iterations) {
        Mac mac = mac(password);
        mac.update(salt);
        byte[] u = mac.doFinal(BLOCK_ONE);
        byte[] result = u.clone();
        for (int i = 1; i < iterations; i++) {
            u = mac.doFinal(u);
            for (int k = 0; k < result.length; k++) {
                result[k] ^= u[k];
            }
        }
        return result;
    }

    static byte[] clientKey(byte[] saltedPassword) {
        return hmac(saltedPassword, CLIENT_KEY);
    }

    static byte[] serverKey(byte[] saltedPassword) {
        return hmac(saltedPassword, SERVER_KEY);
    }

    static byte[] xor(byte[] a, byte[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("xor of unequal lengths");
        }
        byte[] out = new byte[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = (byte) (a[i] ^ b[i]);
        }
        return out;
    }

    /**
     * AuthMessage (RFC 5802 section 3): client-first-message-bare "," server-first-message ","
     * client-final-message-without-proof, all as the bytes that went over the wire.
     */
    static byte[] authMessage(byte[] clientFirstBare, byte[] serverFirst, byte[] clientFinalWithoutProof) {
        byte[] out = new byte[clientFirstBare.length + 1 + serverFirst.length + 1 + clientFinalWithoutProof.length];
        int at = 0;
        System.arraycopy(clientFirstBare, 0, out, at, clientFirstBare.length);
        at += clientFirstBare.length;
        out[at++] = ',';
        System.arraycopy(serverFirst, 0, out, at, serverFirst.length);
        at += serverFirst.length;
        out[at++] = ',';
        System.arraycopy(clientFinalWithoutProof, 0, out, at, clientFinalWithoutProof.length);
        return out;
    }

    /** A fresh nonce: 18 random bytes in base64, 24 printable characters without ',' or '='. */
    static String newNonce() {
        return Base64.getEncoder().encodeToString(randomBytes(NONCE_BYTES));
    }

    static byte[] randomBytes(int length) {
        return Entropy.bytes(length);
    }

    private static Mac mac(byte[] key) {
        // SecretKeySpec refuses an empty key. HMAC pads a short key with zero bytes to the
        // block size (RFC 2104 section 2), so the empty key and one zero byte are the same key.
        return JcaPrototypes.copy(HMAC_SHA256, new SecretKeySpec(key.length == 0 ? new byte[1] : key, HMAC));
    }
}
