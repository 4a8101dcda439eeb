/**
 * The HTTP side: {@code /metrics} (Prometheus, with the pgbouncer_exporter's series),
 * {@code /health} and {@code /ready} (what a load balancer asks before sending clients).
 */
package io.pgloom.server.metrics;
