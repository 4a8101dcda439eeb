package io.pgloom.server.carrier;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.util.concurrent.Executor;

/**
 * The one place pgloom touches the JDK's internals: JDK 25 has no public way to give virtual
 * threads a scheduler of one's own, but its virtual-thread builder has a package-private
 * constructor taking the {@link Executor} that runs the threads' continuations, and a static
 * {@code Thread.currentCarrierThread()} that tells which platform thread runs the caller (a
 * socket's reader must be told apart by carrier, and a scoped or thread-local value per virtual
 * thread would cost memory per idle client). Reaching them needs
 * {@code --add-opens java.base/java.lang=ALL-UNNAMED} (the launcher passes it). When a later JDK
 * drops or changes that constructor, {@link #open} throws and pgloom runs on the JDK's own
 * scheduler and sockets, saying so once (see {@link Carriers#install}).
 *
 * <p>Threading: {@link #open} once at startup; the builders it returns are used by one carrier
 * each.
 */
final class SchedulerHook {
    private static final String BUILDER = "java.lang.ThreadBuilders$VirtualThreadBuilder";

    /** {@code Thread.currentCarrierThread()}, or null when the JDK does not let us have it. */
    private static final MethodHandle CARRIER_THREAD = carrierThreadHandle();

    private final Constructor<?> constructor;

    private SchedulerHook(Constructor<?> constructor) {
        this.constructor = constructor;
    }

    private static MethodHandle carrierThreadHandle() {
        try {
            Method m = Thread.class.getDeclaredMethod("currentCarrierThread");
            m.setAccessible(true);
            MethodHandle h = MethodHandles.lookup().unreflect(m);
            return h.asType(MethodType.methodType(Thread.class));
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** The platform thread running the caller: the caller itself unless it is a virtual thread. Only once {@link #open} succeeded. */
    static Thread carrierThread() {
        try {
            return (Thread) CARRIER_THREAD.invokeExact();
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** The hook, or an exception whose message says why it cannot be had on this JDK. */
    static SchedulerHook open() throws ReflectiveOperationException {
        Constructor<?> k = Class.forName(BUILDER).getDeclaredConstructor(Executor.class);
        try {
            k.setAccessible(true);
        } catch (RuntimeException e) {
            // InaccessibleObjectException: java.base does not open java.lang to us.
            throw new ReflectiveOperationException("the JVM was started without --add-opens java.base/java.lang=ALL-UNNAMED", e);
        }
        if (CARRIER_THREAD == null) {
            throw new ReflectiveOperationException("java.lang.Thread has no currentCarrierThread() this JDK lets us call");
        }
        return new SchedulerHook(k);
    }

    /**
     * A builder of virtual threads on the JDK's default scheduler. Needed because a virtual thread
     * that a virtual thread creates with the plain virtual-thread builder inherits its creator's
     * scheduler: from a carrier's thread, that is the carrier.
     */
    Thread.Builder.OfVirtual jdkDefaultBuilder() throws ReflectiveOperationException {
        Method m = Class.forName("java.lang.VirtualThread").getDeclaredMethod("defaultScheduler");
        m.setAccessible(true);
        return builder((Executor) m.invoke(null));
    }

    /** A builder of virtual threads whose continuations {@code scheduler} runs. */
    Thread.Builder.OfVirtual builder(Executor scheduler) throws ReflectiveOperationException {
        return (Thread.Builder.OfVirtual) constructor.newInstance(scheduler);
    }
}
