/**
 * One client from its first byte to its close, on its own virtual thread:
 * {@link io.pgloom.server.frontend.Negotiation} (SSLRequest, GSSENCRequest, CancelRequest,
 * StartupMessage), then {@link io.pgloom.server.frontend.ClientSession} (admission, login reply,
 * the relay of client frames to the linked server), its
 * {@link io.pgloom.server.frontend.ClientOutput} (the write lock and final-write deadline), the
 * parameters that follow it to every server ({@link io.pgloom.server.frontend.TrackedParameters}),
 * and {@link io.pgloom.server.frontend.ClientJanitor}, which enforces the client timeouts.
 */
package io.pgloom.server.frontend;
