package io.pgloom.wire.protocol;

/**
 * A refusal pgloom sends to a client, then closes it: the error the client sees and, for the log,
 * why. Carrying the whole ErrorResponse lets a server's own login error reach the client unchanged.
 */
public final class PgloomError extends Exception {
    private final ErrorResponse response;
    /** What the log says beyond the client's message (e.g. which user was unknown); null if nothing. */
    private final String logDetail;

    public PgloomError(ErrorResponse response) {
        this(response, null);
    }

    private PgloomError(ErrorResponse response, String logDetail) {
        super(response.message(), null, false, false);
        this.response = response;
        this.logDetail = logDetail;
    }

    /**
     * This refusal with a detail for the log only: a client refused for a wrong password and one
     * refused as an unknown user must see the same message, but the operator wants to know which.
     */
    public PgloomError withLogDetail(String detail) {
        return new PgloomError(response, detail);
    }

    /** The reason as the log states it: the client's message, plus the log-only detail if any. */
    public String logReason() {
        return logDetail == null ? response.message() : response.message() + " (" + logDetail + ")";
    }

    public static PgloomError fatal(String sqlState, String message) {
        return new PgloomError(ErrorResponse.fatal(sqlState, message));
    }

    public ErrorResponse response() {
        return response;
    }
}
