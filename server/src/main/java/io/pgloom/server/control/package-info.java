/**
 * The running pooler: {@link io.pgloom.server.control.Pooler} holds the current config snapshot
 * and the pools, and is the facade sessions, the admin console and the metrics talk to: client
 * registry and cancel routing by the cancel key's instance id, admin state (PAUSE, DISABLE...),
 * the statistics ticker and the maintenance loop.
 */
package io.pgloom.server.control;
