/**
 * Where clients come in: {@link io.pgloom.server.net.Listener} (TCP, and the Unix socket of
 * {@link io.pgloom.server.net.UnixSocket}), each accepted connection a
 * {@link io.pgloom.server.net.Transport} with an upgrade step for TLS, and
 * {@link io.pgloom.server.net.ConnectionInfo}, what login and hba rules may know about the peer
 * (address, TLS state, certificate, Unix peer credentials).
 */
package io.pgloom.server.net;
