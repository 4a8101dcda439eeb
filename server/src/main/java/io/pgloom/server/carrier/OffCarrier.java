package io.pgloom.server.carrier;

import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * Runs CPU-heavy work (SCRAM's PBKDF2: a few milliseconds of hashing) on a virtual thread of the
 * JDK's default scheduler while the calling thread waits, so that the work does not hold a
 * carrier and stall the other sessions on it. A caller that is on no carrier runs it itself.
 */
final class OffCarrier {
    /** Virtual threads on the JDK's default scheduler (set with the carriers; a plain ofVirtual() would inherit the carrier). */
    private static volatile Thread.Builder.OfVirtual jdkDefault;

    private OffCarrier() {
    }

    static void use(Thread.Builder.OfVirtual builder) {
        jdkDefault = builder.name("pgloom-cpu");
    }

    static <T> T run(Supplier<T> work) {
        Thread.Builder.OfVirtual builder = jdkDefault;
        if (builder == null || Carriers.current() == null) {
            return work.get();
        }
        AtomicReference<T> result = new AtomicReference<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = builder.start(() -> {
            try {
                result.set(work.get());
            } catch (RuntimeException | Error e) {
                failure.set(e);
            }
        });
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the work is bounded: finish it, then pass the interrupt on
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        Throwable f = failure.get();
        if (f instanceof RuntimeException r) {
            throw r;
        }
        if (f instanceof Error e) {
            throw e;
        }
        return result.get();
    }
}
