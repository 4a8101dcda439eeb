package io.pgloom.wire.auth;

import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Where pgloom's secrets come from (nonces, salts, cancel keys): {@link #bytes} and {@link #nextInt}
 * hand out bytes a cryptographically strong generator made, 4 KiB of them at a time.
 *
 * <p>The default {@code new SecureRandom()} on Linux is NativePRNG, which reads /dev/urandom under
 * a global lock on every call: a syscall per login on the connect path, contended across client
 * threads. DRBG (NIST SP 800-90A) is seeded once from the OS and then runs in Java, but each call
 * still hashes its state and takes its lock, about a microsecond and a half, and every connection
 * needs two (its md5 salt and its cancel key). Drawing a block at a time makes that once per few
 * hundred connections. The bytes are only ever handed out once; the buffer is overwritten as it
 * is used.
 */
public final class Entropy {
    private static final int BLOCK = 4096;
    private static final SecureRandom GENERATOR = newGenerator();
    private static final ReentrantLock LOCK = new ReentrantLock();
    private static final byte[] buffer = new byte[BLOCK];
    /** Where the next unused byte of {@link #buffer} is; BLOCK: none left. Guarded by LOCK. */
    private static int next = BLOCK;

    private Entropy() {
    }

    private static SecureRandom newGenerator() {
        try {
            return SecureRandom.getInstance("DRBG");
        } catch (NoSuchAlgorithmException e) {
            return new SecureRandom();
        }
    }

    /** Fills {@code out} with fresh random bytes. */
    public static void bytes(byte[] out) {
        LOCK.lock();
        try {
            int done = 0;
            while (done < out.length) {
                if (next == BLOCK) {
                    GENERATOR.nextBytes(buffer);
                    next = 0;
                }
                int n = Math.min(out.length - done, BLOCK - next);
                System.arraycopy(buffer, next, out, done, n);
                java.util.Arrays.fill(buffer, next, next + n, (byte) 0);
                next += n;
                done += n;
            }
        } finally {
            LOCK.unlock();
        }
    }

    /** {@code length} fresh random bytes. */
    public static byte[] bytes(int length) {
        byte[] out = new byte[length];
        bytes(out);
        return out;
    }

    /** A fresh random int. */
    public static int nextInt() {
        byte[] b = bytes(4);
        return (b[0] & 0xFF) << 24 | (b[1] & 0xFF) << 16 | (b[2] & 0xFF) << 8 | (b[3] & 0xFF);
    }
}
