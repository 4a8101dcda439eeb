package io.pgloom.config;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How clients prove who they are: PgBouncer's {@code auth_type}. */
public enum AuthType {
    TRUST, PLAIN, MD5, SCRAM_SHA_256, PEER, CERT, HBA, PAM, ANY;

    /** The value as written in {@code pgbouncer.ini}, e.g. {@code scram-sha-256}. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * Parses an auth type case-insensitively, as PgBouncer does. PgBouncer 1.25 also knows
     * {@code ldap}; pgloom refuses it by name rather than start with weaker authentication than
     * the file asks for.
     */
    public static AuthType parse(String text) {
        String wanted = text == null ? "" : text.strip();
        for (AuthType type : values()) {
            if (type.configName().equalsIgnoreCase(wanted)) {
                return type;
            }
        }
        if (wanted.equalsIgnoreCase("ldap")) {
            throw new IllegalArgumentException("auth type 'ldap' is not supported by pgloom yet");
        }
        throw new IllegalArgumentException("unknown auth type '" + text + "': expected one of "
                + Arrays.stream(values()).map(AuthType::configName).collect(Collectors.joining(", ")));
    }
}
