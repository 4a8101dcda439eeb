package io.pgloom.wire.auth;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * Where CPU-heavy login work runs: SCRAM's PBKDF2 (a few milliseconds of hashing per login with a
 * plain password) and the key exchange and signatures of a TLS handshake. By
 * default on the calling thread; the server, when it runs its virtual threads on its own carriers,
 * installs a runner that moves the work off them, so one login's hashing does not stall the other
 * sessions of its carrier.
 *
 * <p>Threading: the runner is a volatile reference, set once at startup.
 */
public final class HeavyWork {

    /** Runs {@code work} somewhere and returns its result, waiting for it. */
    public interface Runner {
        <T> T run(Supplier<T> work);
    }

    private static final Runner HERE = Supplier::get;
    private static volatile Runner runner = HERE;

    private HeavyWork() {
    }

    public static void use(Runner r) {
        runner = Objects.requireNonNull(r, "runner");
    }

    /** Back to running the work on the calling thread. */
    public static void runHere() {
        runner = HERE;
    }

    public static <T> T run(Supplier<T> work) {
        return runner.run(work);
    }
}
