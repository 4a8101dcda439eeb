/**
 * Named prepared statements in transaction and statement mode: the client names each client
 * knows, the server-side names each server connection holds, the registry that maps one to the
 * other, and the {@link io.pgloom.server.statements.ResponseQueue} of answers pgloom owes or hides
 * while it rewrites a client's extended-query traffic.
 */
package io.pgloom.server.statements;
