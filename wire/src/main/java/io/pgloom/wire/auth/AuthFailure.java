package io.pgloom.wire.auth;

/**
 * An authentication exchange failed: wrong password, malformed or out-of-order message, or a
 * mechanism we do not offer. The message is meant for our log; what the client sees is always
 * PostgreSQL's generic {@code 28P01 password authentication failed for user "..."}, so that a
 * failure never tells an attacker which check it tripped.
 */
public final class AuthFailure extends Exception {
    public AuthFailure(String message) {
        super(message);
    }
}
