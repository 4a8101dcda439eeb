/**
 * The client side of pgloom towards PostgreSQL: {@link io.pgloom.wire.backend.BackendConnector}
 * is the one place a socket to a PostgreSQL host is opened, logged in (with the credentials in
 * {@link io.pgloom.wire.backend.ServerCredentials}), sent a CancelRequest or probed. Pools,
 * cancel forwarding, {@code /ready} and (later) failover probes all go through it, so server TLS
 * lands in this package alone.
 */
package io.pgloom.wire.backend;
