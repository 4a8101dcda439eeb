package io.pgloom.config.hba;

import java.util.Locale;

/** The first field of an hba rule: which connections the rule is about. */
public enum RecordType {
    /** Unix-socket connections. */
    LOCAL,
    /** TCP connections, encrypted or not. */
    HOST,
    /** TCP connections with TLS. */
    HOSTSSL,
    /** TCP connections without TLS. */
    HOSTNOSSL;

    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** True if a rule of this type can match a connection over Unix socket or TCP, with or without TLS. */
    boolean admits(boolean unixSocket, boolean tls) {
        return switch (this) {
            case LOCAL -> unixSocket;
            case HOST -> !unixSocket;
            case HOSTSSL -> !unixSocket && tls;
            case HOSTNOSSL -> !unixSocket && !tls;
        };
    }
}
