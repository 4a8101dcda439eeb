/**
 * Password authentication crypto: PostgreSQL's md5 scheme and SCRAM-SHA-256 (RFC 5802, RFC 7677)
 * in both roles, as pure functions and small single-use state machines. Nothing here touches a
 * socket; the session code frames the bytes (AuthenticationSASL, SASLInitialResponse, ...) and
 * feeds them in.
 *
 * <p>Threading: every class is either stateless or an exchange object that belongs to one session
 * and is driven by that session's virtual thread only; none of them is thread-safe.
 *
 * <p>Errors: anything a peer sends that is malformed or wrong ends as {@link
 * io.pgloom.wire.auth.AuthFailure}, whose message is for our logs only. The client is always
 * told PostgreSQL's generic {@code 28P01} text, so a message here never helps an attacker.
 */
package io.pgloom.wire.auth;
