package io.pgloom.server.pool;

import io.pgloom.server.protocol.ErrorResponse;

/**
 * A refusal pgloom sends to a client, then closes it: the error the client sees and, for the log,
 * why. Carrying the whole ErrorResponse lets a server's own login error reach the client unchanged.
 */
public final class PgloomError extends Exception {
    private final ErrorResponse response;

    public PgloomError(ErrorResponse response) {
        super(response.message(), null, false, false);
        this.response = response;
    }

    public static PgloomError fatal(String sqlState, String message) {
        return new PgloomError(ErrorResponse.fatal(sqlState, message));
    }

    public ErrorResponse response() {
        return response;
    }
}
