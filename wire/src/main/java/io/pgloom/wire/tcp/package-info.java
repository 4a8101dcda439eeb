/**
 * TCP socket options that pgloom sets on every TCP connection it has, to clients and to servers
 * alike, as PgBouncer's tcp_* settings ask.
 */
package io.pgloom.wire.tcp;
