package io.pgloom.failover;

import io.pgloom.config.ReplicaLag;
import io.pgloom.config.SettingValues;
import java.time.Duration;

/**
 * The {@code [failover]} section, read once per reload.
 *
 * @param probeInterval   time between the starts of two probe rounds
 * @param probeTimeout    a probe (connect, login, query) not done in this long fails
 * @param primaryGrace    the primary unreachable this long counts as lost
 * @param promote         whether pgloom promotes a standby when the primary is lost
 * @param maxReplicaLag   a standby behind more than this takes no reads
 * @param readmitDelay    a host fit again must stay fit this long before it takes traffic
 * @param repointStandbys after a promotion, point the other standbys at the new primary
 * @param probeUser       user the probes log in as; empty: the entry's user, else auth_user
 * @param probeDbname     database the probes log in to
 */
public record FailoverSettings(Duration probeInterval, Duration probeTimeout, Duration primaryGrace, boolean promote,
                               ReplicaLag maxReplicaLag, Duration readmitDelay, boolean repointStandbys,
                               String probeUser, String probeDbname) {

    public static FailoverSettings of(SettingValues s) {
        return new FailoverSettings(atLeastMillis(s.time("probe_interval")), atLeastMillis(s.time("probe_timeout")),
                s.time("primary_grace"), s.bool("promote"), ReplicaLag.parse(s.string("max_replica_lag")),
                s.time("readmit_delay"), s.bool("repoint_standbys"), s.string("probe_user"), s.string("probe_dbname"));
    }

    public static FailoverSettings defaults() {
        return of(SettingValues.defaults());
    }

    /** A zero interval or timeout would spin or never wait: the smallest is one millisecond. */
    private static Duration atLeastMillis(Duration d) {
        return d.toMillis() < 1 ? Duration.ofMillis(1) : d;
    }
}
