package io.pgloom.config;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * A {@code [databases]} entry's {@code target_session_attrs}: which of its hosts a server
 * connection may go to, in libpq's words. pgloom learns each host's role from its probes (the
 * failover module), not from a SHOW per connection as libpq does.
 */
public enum TargetSessionAttrs {
    /** Any host that answers: libpq's default, and the only one that needs no probe. */
    ANY("any"),
    /** A host that accepts writes (not in recovery, not fenced). */
    READ_WRITE("read-write"),
    /** The primary: the same host as read-write in pgloom, which never routes to a read-only primary. */
    PRIMARY("primary"),
    /** A host that does not accept writes: a standby, or a primary set default_transaction_read_only. */
    READ_ONLY("read-only"),
    /** A standby only; when none is fit, new server connections wait. */
    STANDBY("standby"),
    /** A standby when one is fit, else the primary. */
    PREFER_STANDBY("prefer-standby");

    private final String word;

    TargetSessionAttrs(String word) {
        this.word = word;
    }

    /** The word as written in pgbouncer.ini and shown by SHOW DATABASES. */
    public String word() {
        return word;
    }

    /** Whether the entry's pool writes: it must only ever reach the primary. */
    public boolean wantsPrimary() {
        return this == READ_WRITE || this == PRIMARY;
    }

    /** Whether the entry's pool reads from standbys first. */
    public boolean wantsStandby() {
        return this == READ_ONLY || this == STANDBY || this == PREFER_STANDBY;
    }

    public static List<String> words() {
        return Arrays.stream(values()).map(TargetSessionAttrs::word).toList();
    }

    /** The value for {@code word}, case-insensitive; throws with the accepted words otherwise. */
    public static TargetSessionAttrs parse(String word) {
        String w = word.trim().toLowerCase(Locale.ROOT);
        for (TargetSessionAttrs t : values()) {
            if (t.word.equals(w)) {
                return t;
            }
        }
        throw new IllegalArgumentException("expected one of " + String.join(", ", words()));
    }
}
