package io.pgloom.server;

import java.util.Objects;
import java.util.concurrent.ThreadFactory;

/**
 * Where pgloom's virtual threads come from. Every {@link TaskScope} (its owner and every task it
 * forks) and every {@link DeadlineScope} makes its threads with {@link #factory()}, taken when the
 * scope opens; nothing else creates threads (ThreadsInScopesTest). Today the factory makes virtual
 * threads on the JDK's default scheduler. pgloom's own carriers (issue 9: carrier threads that run
 * their virtual threads and poll those threads' sockets themselves) plug in here, once, at
 * startup, through {@link #use}, and every scope opened from then on forks onto them.
 *
 * <p>Threading: the factory is a volatile reference; a scope reads it once, at construction.
 */
public final class VirtualThreads {
    private static final ThreadFactory JDK_DEFAULT = Thread.ofVirtual().factory();
    private static volatile ThreadFactory factory = JDK_DEFAULT;

    private VirtualThreads() {
    }

    /** The factory scopes opened now make their threads with. */
    public static ThreadFactory factory() {
        return factory;
    }

    /**
     * From now on, scopes make their threads with {@code f} (at startup, before any scope opens;
     * scopes already open keep the factory they started with). {@link #useJdkDefault} undoes it.
     */
    public static void use(ThreadFactory f) {
        factory = Objects.requireNonNull(f, "factory");
    }

    /** Back to virtual threads on the JDK's default scheduler. */
    public static void useJdkDefault() {
        factory = JDK_DEFAULT;
    }
}
