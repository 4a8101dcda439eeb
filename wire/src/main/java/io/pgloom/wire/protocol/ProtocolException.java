package io.pgloom.wire.protocol;

import java.io.IOException;

/**
 * The peer broke the protocol (bad length, unknown message, truncated frame). Carries the SQLSTATE
 * the offending client is told before it is disconnected.
 */
public final class ProtocolException extends IOException {
    private final String sqlState;

    public ProtocolException(String message) {
        this(SqlState.PROTOCOL_VIOLATION, message);
    }

    public ProtocolException(String sqlState, String message) {
        super(message);
        this.sqlState = sqlState;
    }

    public String sqlState() {
        return sqlState;
    }
}
