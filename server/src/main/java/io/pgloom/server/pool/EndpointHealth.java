package io.pgloom.server.pool;

import io.pgloom.wire.backend.Endpoint;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a pool learned about its endpoints by connecting to them: an endpoint that could not be
 * reached at the network level is held back for server_login_retry (its own window: the pool's
 * other endpoints are still tried), and the latest such failure is kept as PgBouncer's cached
 * error ("server login has been failing, cached error: ...").
 *
 * <p>Threading: guarded by the owning pool's lock, except {@link #lastFailure}, which is volatile
 * so that a client failing fast may read it without the lock.
 */
public final class EndpointHealth {
    /** nanoTime until which an endpoint is not tried again; windows that ran out are dropped. */
    private final Map<Endpoint, Long> heldBackUntil = new HashMap<>();
    /** Why the last connect failed at the network level; null once one succeeds. */
    private volatile String lastFailure;

    /** Whether {@code e} is in its server_login_retry window at {@code now}. */
    public boolean heldBack(Endpoint e, long now) {
        Long until = heldBackUntil.get(e);
        return until != null && until - now > 0;
    }

    /**
     * From when (nanoTime) one of {@code endpoints} may be tried: {@code now} if one may be tried
     * already, else the end of the first window to run out.
     */
    long triableFrom(List<Endpoint> endpoints, long now) {
        if (heldBackUntil.isEmpty()) {
            return now;
        }
        long first = now;
        boolean seen = false;
        for (Endpoint e : endpoints) {
            Long until = heldBackUntil.get(e);
            if (until == null) {
                return now;
            }
            if (until - now <= 0) {
                heldBackUntil.remove(e);
                return now;
            }
            if (!seen || until - first < 0) {
                first = until;
                seen = true;
            }
        }
        return first;
    }

    /** Whether every one of {@code endpoints} is held back at {@code now}: the pool then waits. */
    boolean allHeldBack(List<Endpoint> endpoints, long now) {
        return triableFrom(endpoints, now) - now > 0;
    }

    /** Connecting to {@code e} failed at the network level with {@code cause}: held back until {@code until}. */
    void connectFailed(Endpoint e, String cause, long until) {
        heldBackUntil.put(e, until);
        lastFailure = cause;
    }

    /**
     * A connection to {@code e} logged in: the cached error is forgotten. A window already started
     * still runs out (as PgBouncer's single retry time does).
     */
    void connected(Endpoint e) {
        lastFailure = null;
    }

    /** The cached error of the last network-level failure, or null. */
    String lastFailure() {
        return lastFailure;
    }
}
