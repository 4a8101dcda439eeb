package io.pgloom.failover;

/** What a host is in its replication set, as its last answered probe said. */
public enum Role {
    /** Not in recovery: accepts writes (unless fenced or set read-only). */
    PRIMARY,
    /** In recovery: a hot standby that takes reads. */
    STANDBY,
    /** Never answered a probe yet, or down since before it first did. */
    UNKNOWN;

    /** The word SHOW HOSTS and the metrics use. */
    public String word() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
