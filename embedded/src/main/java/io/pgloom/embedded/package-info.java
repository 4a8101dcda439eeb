/**
 * A real PostgreSQL for {@code pgloom demo} and the tests: {@link io.pgloom.embedded.EmbeddedPostgres}.
 *
 * <p>No Docker, no system PostgreSQL: the server binaries come from the zonky jar on the
 * classpath, unpacked once per machine. As root (CI) they run as an unprivileged account,
 * because PostgreSQL refuses root. Everything else (initdb, bootstrap SQL, signals, clean-up)
 * is plain child processes and files, so the same code serves a demo and a chaos test.
 */
package io.pgloom.embedded;
