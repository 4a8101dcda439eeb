/**
 * Client authentication: {@link io.pgloom.server.login.ClientAuthenticator} checks a client
 * against auth_file (trust, plain, md5, scram-sha-256) and, for users it lacks,
 * {@link io.pgloom.server.login.AuthQuery} fetches the secret from PostgreSQL. It decides on a
 * {@link io.pgloom.server.net.ConnectionInfo}, so methods that depend on the peer (hba, cert,
 * peer) plug in here: under auth_type hba, {@link io.pgloom.server.login.HbaLogin} picks the rule
 * whose method the login then runs.
 */
package io.pgloom.server.login;
