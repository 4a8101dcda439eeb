package io.pgloom.failover;

import io.pgloom.wire.backend.Endpoint;
import java.time.Duration;

/**
 * Asks one host what it is. The real one logs in and runs a query ({@link SqlProbe}); tests may
 * script answers.
 *
 * <p>Threading: {@link #probe} is called for several hosts at once, each on its own virtual
 * thread, at most once per host at a time.
 */
public interface HostProbe extends AutoCloseable {
    /**
     * Never throws for the host's sake: a host that cannot be reached, refuses the login or
     * answers nonsense gives {@link ProbeResult#unreachable}. {@code timeout} bounds the connect,
     * the login and the query each.
     */
    ProbeResult probe(Endpoint host, Duration timeout) throws InterruptedException;

    /** Hosts no longer probed: whatever is kept open for them goes. */
    default void forget(Endpoint host) {
    }

    @Override
    default void close() {
    }
}
