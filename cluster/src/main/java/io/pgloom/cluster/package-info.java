/**
 * Cluster membership and replicated state. Empty until the cluster issue lands: the JGroups
 * channel, the view and the replicated opcode records will live here, behind an API that the
 * {@code server} module uses without seeing JGroups types.
 */
package io.pgloom.cluster;
