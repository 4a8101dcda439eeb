/**
 * Pools: {@link io.pgloom.server.pool.Pool}, the server connections of one (database, user) pair
 * and the clients waiting for one, in a fair {@link io.pgloom.server.pool.WaitLine}. A pool asks
 * a {@link io.pgloom.server.pool.ConnectionBudget} for room (max_db_connections,
 * max_user_connections: the cluster plugs a shared budget in here) and an
 * {@link io.pgloom.server.pool.EndpointSelector} for the host of each new connection (failover
 * plugs in here), with login-retry state per host. Also the statistics and the lock-free views
 * SHOW and /metrics read.
 */
package io.pgloom.server.pool;
