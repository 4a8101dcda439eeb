/**
 * PgBouncer's {@code auth_type = hba}: the rules of {@code auth_hba_file} (pg_hba.conf syntax, as
 * far as PgBouncer 1.25 reads it) and the user name maps of {@code auth_ident_file} (pg_ident.conf
 * syntax). {@link io.pgloom.config.hba.HbaFile} and {@link io.pgloom.config.hba.IdentFile} parse
 * them with file:line in every error; {@link io.pgloom.config.hba.HbaRules#match} finds the first
 * rule for a connection; {@link io.pgloom.config.hba.IdentMap#permits} says whether an OS user may
 * log in as a database user. Only parsing and matching live here: the login itself is the
 * server's.
 */
package io.pgloom.config.hba;
