/**
 * The topology of pgloom's multi-host databases and what to do when it changes: {@link
 * io.pgloom.failover.FailoverMonitor} probes every host in rounds ({@link io.pgloom.failover.SqlProbe}),
 * {@link io.pgloom.failover.Topology} keeps what they found (up or down, primary or standby, lag,
 * fenced) and answers which hosts suit a pool, and {@link io.pgloom.failover.PrimaryWatch} decides
 * on a promotion ({@link io.pgloom.failover.SqlPromoter}) once the primary is lost, through a
 * {@link io.pgloom.failover.PromotionGate} the cluster will make a majority vote. Knows hosts and
 * the wire protocol; knows nothing of clients, sessions or pools.
 */
package io.pgloom.failover;
