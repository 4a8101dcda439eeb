package io.pgloom.wire.auth;

import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/**
 * Where pgloom's secrets come from (nonces, salts, cancel keys).
 *
 * <p>The default {@code new SecureRandom()} on Linux is NativePRNG, which reads /dev/urandom under
 * a global lock on every call: a syscall per login on the connect path, contended across client
 * threads. DRBG (NIST SP 800-90A) is seeded once from the OS and then runs in Java.
 */
public final class Entropy {
    private Entropy() {
    }

    public static SecureRandom newGenerator() {
        try {
            return SecureRandom.getInstance("DRBG");
        } catch (NoSuchAlgorithmException e) {
            return new SecureRandom();
        }
    }
}
