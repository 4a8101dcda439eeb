/**
 * The PostgreSQL frontend/backend protocol, version 3.0, as bytes: the frame reader every socket
 * reads through, builders for the messages pgloom sends either way, the startup-phase requests
 * (SSLRequest, GSSENCRequest, CancelRequest, StartupMessage), ErrorResponse with its SQLSTATEs,
 * named authentication codes, and {@link io.pgloom.wire.protocol.MessageReader}, the one
 * bounds-checked reader of integers and NUL-terminated strings.
 *
 * <p>Nothing here knows pools, sessions or threads: a decoder takes bytes and gives a value or a
 * {@link io.pgloom.wire.protocol.ProtocolException} naming what was wrong.
 */
package io.pgloom.wire.protocol;
