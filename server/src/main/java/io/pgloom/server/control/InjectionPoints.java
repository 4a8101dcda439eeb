package io.pgloom.server.control;

import java.util.HashSet;
import java.util.Set;

/**
 * Named places in pgloom where a test makes it fail as a bug would, to show that the failure
 * stays with the one connection it hit (PostgreSQL's injection points, in small). None is armed
 * in production: passing one costs a volatile read. Each pooler has its own, so a test arms it
 * for the instance it started only.
 */
public final class InjectionPoints {
    /** A client has just been linked to a server for its next transaction. */
    public static final String CLIENT_SERVER_LINKED = "client-server-linked";

    private volatile Set<String> armed = Set.of();

    /** From now on, passing {@code point} throws. */
    public synchronized void arm(String point) {
        Set<String> next = new HashSet<>(armed);
        next.add(point);
        armed = Set.copyOf(next);
    }

    public synchronized void disarm(String point) {
        Set<String> next = new HashSet<>(armed);
        next.remove(point);
        armed = Set.copyOf(next);
    }

    /** Throws {@link IllegalStateException} if {@code point} is armed. */
    public void pass(String point) {
        Set<String> now = armed;
        if (!now.isEmpty() && now.contains(point)) {
            throw new IllegalStateException("injection point " + point + " is armed");
        }
    }
}
