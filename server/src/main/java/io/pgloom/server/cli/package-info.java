/**
 * The {@code pgloom} command (picocli): {@code run}, {@code demo}, {@code check} and
 * {@code postgres}.
 */
package io.pgloom.server.cli;
