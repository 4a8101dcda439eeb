/**
 * Backend health probes, role detection and failover decisions. Empty until the failover issue
 * lands.
 */
package io.pgloom.failover;
