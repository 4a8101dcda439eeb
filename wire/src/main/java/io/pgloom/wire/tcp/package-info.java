/**
 * TCP sockets as the protocol code sees them: {@link io.pgloom.wire.tcp.Conduit} (blocking streams
 * over a JDK socket or a carrier's channel), {@link io.pgloom.wire.tcp.Dialer} (how connections
 * to servers are opened), and {@link io.pgloom.wire.tcp.TcpTuning}, the options pgloom sets on
 * every TCP connection it has, to clients and to servers alike, as PgBouncer's tcp_* settings ask.
 */
package io.pgloom.wire.tcp;
