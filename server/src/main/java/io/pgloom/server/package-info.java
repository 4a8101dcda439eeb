/**
 * The pgloom server: {@link io.pgloom.server.PgloomServer} wires the config, the pooler, the
 * listeners, the admin console and the metrics listener together and owns reloads and shutdown.
 * {@link io.pgloom.server.TaskScope} and {@link io.pgloom.server.DeadlineScope} are the only
 * classes that touch the preview StructuredTaskScope API. The packages below hold the rest; each
 * says what it holds in its own package-info.
 */
package io.pgloom.server;
