package io.pgloom.failover;

import io.pgloom.wire.backend.Endpoint;

/**
 * What pgloom knows of one host, after its latest probe. Immutable: each round makes new ones.
 *
 * @param up          its last probe was answered
 * @param role        what that probe said it is (the last known role while it is down)
 * @param readOnly    a fresh session on it is read-only (a standby, or default_transaction_read_only)
 * @param timeline    the timeline it writes or replays (0: unknown)
 * @param lsn         a primary's insert position or a standby's replay position (-1: unknown)
 * @param receiveLsn  a standby's last received (flushed) position, which a promotion replays too (-1: unknown)
 * @param lagBytes    a standby's replay position behind the primary's insert position, in bytes
 *                    (-1: unknown, no primary answered yet)
 * @param lagMillis   a standby's replay delay (see {@link ProbeResult#replayDelayMillis})
 * @param fenced      why it gets no traffic until an operator re-admits it (a primary on an old
 *                    timeline, a primary replaced by a promotion); null when not fenced
 * @param fitFrom     nanoTime from which it may take traffic: a host that was down or lagging
 *                    waits readmit_delay after it is fit again
 * @param since       nanoTime of its last change between up and down
 * @param lastError   why its last failed probe failed (kept after it is up again); null if none
 */
public record HostStatus(Endpoint host, boolean up, Role role, boolean readOnly, long timeline, long lsn, long receiveLsn,
                         long lagBytes,
                         long lagMillis, String fenced, long fitFrom, long since, String lastError) {

    /** A host before its first probe. */
    static HostStatus unknown(Endpoint host, long now) {
        return new HostStatus(host, false, Role.UNKNOWN, false, 0, -1, -1, -1, 0, null, now, now, null);
    }

    public boolean isFenced() {
        return fenced != null;
    }

    /** Up, not fenced, past its readmit delay: may take traffic of a pool its role suits. */
    public boolean usable(long now) {
        return up && fenced == null && now - fitFrom >= 0;
    }

    /** A usable primary that takes writes. */
    public boolean writable(long now) {
        return usable(now) && role == Role.PRIMARY && !readOnly;
    }

    HostStatus withFenced(String reason) {
        return new HostStatus(host, up, role, readOnly, timeline, lsn, receiveLsn, lagBytes, lagMillis, reason, fitFrom, since,
                lastError);
    }

    HostStatus withFitFrom(long from) {
        return new HostStatus(host, up, role, readOnly, timeline, lsn, receiveLsn, lagBytes, lagMillis, fenced, from, since,
                lastError);
    }

    /** How far a standby got: what it received, which a promotion replays before it takes writes. */
    public long advance() {
        return Math.max(lsn, receiveLsn);
    }

    /** SHOW HOSTS' state column: up, down, fenced, or waiting (up, in its readmit delay). */
    public String state(long now) {
        if (fenced != null) {
            return "fenced";
        }
        if (!up) {
            return "down";
        }
        return now - fitFrom >= 0 ? "up" : "waiting";
    }
}
