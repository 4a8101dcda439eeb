package io.pgloom.config.hba;

import java.util.Locale;

/** The method field of an hba rule: how a client it matches authenticates. */
public enum HbaMethod {
    TRUST, REJECT, MD5, PASSWORD, SCRAM_SHA_256, PEER, CERT;

    /** As written in the file, e.g. {@code scram-sha-256}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /** The method written as {@code text}, or null if PgBouncer 1.25 has no such hba method. */
    static HbaMethod parse(String text) {
        for (HbaMethod method : values()) {
            if (method.configName().equals(text)) {
                return method;
            }
        }
        return null;
    }

    /** True if a map= option makes sense: the methods where the OS or a certificate names the user. */
    boolean takesIdentMap() {
        return this == PEER || this == CERT;
    }
}
