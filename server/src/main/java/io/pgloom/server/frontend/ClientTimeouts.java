package io.pgloom.server.frontend;

import io.pgloom.config.PgloomConfig;
import io.pgloom.config.UserEntry;
import io.pgloom.server.control.PoolerSettings;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The timeouts that apply to a logged-in client, in nanoseconds (0: none): the [pgbouncer]
 * settings, each overridden by the client's login user's {@code [users]} entry when it sets one
 * above 0, as in PgBouncer 1.25. The user is the one the client logged in as, not a database's
 * forced {@code user=}: these judge the client, where pool_size judges the pool (see PoolSizes).
 *
 * @param clientIdleNanos      client_idle_timeout: unlinked and silent this long
 * @param idleTransactionNanos idle_transaction_timeout: silent this long inside a transaction
 * @param queryNanos           query_timeout: one request unanswered this long
 * @param transactionNanos     transaction_timeout: one transaction open this long
 */
public record ClientTimeouts(long clientIdleNanos, long idleTransactionNanos, long queryNanos, long transactionNanos) {

    /** The timeouts of every client when {@code user} (null: no [users] entry) logged in. */
    static ClientTimeouts of(PoolerSettings s, UserEntry user) {
        return new ClientTimeouts(
                nanos(user, "client_idle_timeout", s.clientIdleTimeout()),
                nanos(user, "idle_transaction_timeout", s.idleTransactionTimeout()),
                nanos(user, "query_timeout", s.queryTimeout()),
                nanos(user, "transaction_timeout", s.transactionTimeout()));
    }

    private static long nanos(UserEntry user, String name, Duration global) {
        Optional<Duration> own = user == null ? Optional.empty() : user.timeout(name);
        return Math.max(0, own.orElse(global).toNanos());
    }

    /** Whether a client can go over one of these without being idle: a query or transaction runs too long. */
    boolean judgesBusyClients() {
        return queryNanos > 0 || transactionNanos > 0;
    }

    /** The shorter of the two idle timeouts that are set, 0 when neither is. */
    long smallestIdleNanos() {
        if (clientIdleNanos <= 0) {
            return idleTransactionNanos;
        }
        return idleTransactionNanos <= 0 ? clientIdleNanos : Math.min(clientIdleNanos, idleTransactionNanos);
    }

    /**
     * The timeouts per login user for one config snapshot, resolved once per reload rather than
     * per client per janitor tick. Janitor thread only.
     */
    static final class ByUser {
        private PgloomConfig config;
        private PoolerSettings settings;
        private ClientTimeouts defaults;
        private final Map<String, ClientTimeouts> byUser = new HashMap<>();

        ClientTimeouts of(String user, PgloomConfig currentConfig, PoolerSettings currentSettings) {
            if (currentConfig != config || currentSettings != settings) {
                config = currentConfig;
                settings = currentSettings;
                defaults = ClientTimeouts.of(currentSettings, null);
                byUser.clear();
                currentConfig.users().forEach((name, entry) -> byUser.put(name, ClientTimeouts.of(currentSettings, entry)));
            }
            return byUser.getOrDefault(user, defaults);
        }
    }
}
