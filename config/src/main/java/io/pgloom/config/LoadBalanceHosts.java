package io.pgloom.config;

import java.util.Locale;

/** A {@code [databases]} entry's {@code load_balance_hosts}, as PgBouncer 1.24 defines it. */
public enum LoadBalanceHosts {
    /** Each new server connection goes to the next host of the list (PgBouncer's default). */
    ROUND_ROBIN("round-robin"),
    /**
     * New server connections go to the same host as the last one, in the list's order: the next
     * host is tried only when connecting to that one fails.
     */
    DISABLE("disable");

    private final String word;

    LoadBalanceHosts(String word) {
        this.word = word;
    }

    /** The word as written in pgbouncer.ini and shown in SHOW DATABASES and SHOW POOLS. */
    public String word() {
        return word;
    }

    static LoadBalanceHosts parse(String word) {
        return word.trim().toLowerCase(Locale.ROOT).equals("disable") ? DISABLE : ROUND_ROBIN;
    }
}
