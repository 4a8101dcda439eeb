package io.pgloom.failover;

import io.pgloom.wire.backend.Endpoint;
import java.io.IOException;

/** Makes a standby the primary, and points the other standbys at it. */
public interface Promoter {
    /** Promotes {@code standby} and returns once it accepts writes; throws if it could not. */
    void promote(Endpoint standby) throws IOException, InterruptedException;

    /** Points {@code standby}'s replication at {@code primary}; throws if it could not. */
    void repoint(Endpoint standby, Endpoint primary) throws IOException, InterruptedException;
}
