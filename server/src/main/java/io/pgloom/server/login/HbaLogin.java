package io.pgloom.server.login;

import io.pgloom.config.AuthType;
import io.pgloom.config.hba.HbaClient;
import io.pgloom.config.hba.HbaRule;
import io.pgloom.config.hba.HbaRules;
import io.pgloom.server.net.ConnectionInfo;
import io.pgloom.wire.protocol.PgloomError;
import io.pgloom.wire.protocol.SqlState;
import java.util.Optional;

/**
 * auth_type = hba: finds the auth_hba_file rule for a client and turns its method into the
 * auth_type the login then runs, or refuses the client as PostgreSQL does, with the rule (file:line)
 * or the absence of one in the log. Runs on the client's thread; holds nothing.
 */
final class HbaLogin {

    private HbaLogin() {
    }

    /**
     * The rule that decides this client's login. Refuses, with PostgreSQL's words and SQLSTATE
     * 28000, when no rule matches and when the rule says reject.
     *
     * @param rules    the loaded rules; null when auth_type is hba but no auth_hba_file was loaded
     * @param database the database the client asked for ({@code pgbouncer} for the console)
     */
    static HbaRule rule(HbaRules rules, ConnectionInfo connection, String database, String user, boolean physicalReplication)
            throws PgloomError {
        HbaClient client = connection.isUnix() ? HbaClient.local(database, user)
                : HbaClient.host(connection.remote().getAddress(), connection.isEncrypted(), database, user);
        if (physicalReplication) {
            // As PostgreSQL: a physical replication connection meets only rules for the replication
            // keyword; a logical one (replication=database) is matched by its database like any other.
            client = client.asReplication();
        }
        Optional<HbaRule> found = rules == null ? Optional.empty() : rules.match(client);
        if (found.isEmpty()) {
            // PgBouncer's words for this case go to the log, PostgreSQL's to the client.
            throw PgloomError.fatal(SqlState.INVALID_AUTHORIZATION, "no pg_hba.conf entry for " + describe(client))
                    .withLogDetail("no authentication method is found: " + (rules == null
                            ? "no auth_hba_file is loaded" : "no rule of " + rules.file() + " matches"));
        }
        HbaRule rule = found.get();
        switch (rule.method()) {
            case REJECT -> throw PgloomError.fatal(SqlState.INVALID_AUTHORIZATION,
                    "pg_hba.conf rejects connection for " + describe(client))
                    .withLogDetail("login rejected by hba rule " + rule.location());
            default -> {
                return rule;
            }
        }
    }

    /** The auth_type a rule's method logs the client in with. */
    static AuthType authType(HbaRule rule) {
        return switch (rule.method()) {
            case TRUST -> AuthType.TRUST;
            case MD5 -> AuthType.MD5;
            case PASSWORD -> AuthType.PLAIN;
            case SCRAM_SHA_256 -> AuthType.SCRAM_SHA_256;
            case PEER -> AuthType.PEER;
            case CERT -> AuthType.CERT;
            case REJECT -> throw new IllegalArgumentException("rule " + rule + " logs nobody in");
        };
    }

    /**
     * PostgreSQL's {@code host "…", user "…", database "…", no encryption}, and for a physical
     * replication connection its {@code replication connection from host "…", user "…", …}.
     */
    private static String describe(HbaClient client) {
        String host = client.isLocal() ? "[local]" : client.address().getHostAddress();
        return (client.replication() ? "replication connection from " : "") + "host \"" + host + "\", user \"" + client.user()
                + (client.replication() ? "" : "\", database \"" + client.database()) + "\", "
                + (client.tls() ? "SSL encryption" : "no encryption");
    }
}
