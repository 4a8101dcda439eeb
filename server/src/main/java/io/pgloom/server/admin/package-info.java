/**
 * The admin console, PgBouncer's virtual database {@code pgbouncer}: the command table with its
 * rights, every SHOW with PgBouncer 1.25's columns in order, and the state commands, over the
 * simple and the extended query protocol.
 */
package io.pgloom.server.admin;
