package io.pgloom.failover;

import io.pgloom.wire.backend.Endpoint;

/**
 * What one probe of a host found.
 *
 * @param error      why the host did not answer (null when it did); the other fields are then
 *                   meaningless
 * @param inRecovery {@code pg_is_in_recovery()}: a standby
 * @param readOnly   {@code transaction_read_only} of a fresh session: true on a standby, and on a
 *                   primary with {@code default_transaction_read_only}
 * @param timeline   the timeline the host writes (a primary) or replays (a standby)
 * @param lsn        a primary's current WAL insert position, a standby's last replayed one; -1 unknown
 * @param receiveLsn a standby's last received position; -1 on a primary or when unknown
 * @param replayDelayMillis a standby's time behind: how long ago the last transaction it replayed
 *                   was committed, when it has received WAL it has not replayed yet; 0 otherwise
 */
public record ProbeResult(Endpoint host, String error, boolean inRecovery, boolean readOnly, long timeline, long lsn,
                          long receiveLsn, long replayDelayMillis) {

    public static ProbeResult unreachable(Endpoint host, String error) {
        return new ProbeResult(host, error, false, false, 0, -1, -1, 0);
    }

    public boolean answered() {
        return error == null;
    }

    /** How far a standby is: the newer of what it received and what it replayed. */
    public long advance() {
        return Math.max(lsn, receiveLsn);
    }
}
