/**
 * Peering, as PgBouncer 1.25 does it: several processes on one port (so_reuseport) or behind one
 * load balancer, each with its own peer_id, forward to each other the CancelRequests whose key
 * another of them handed out. {@code PeerForwarder} is the {@code ForeignCancels} that reads
 * [peers]; {@code PeerPool} sends the cancels to one peer, at most its pool_size at once.
 */
package io.pgloom.server.peer;
