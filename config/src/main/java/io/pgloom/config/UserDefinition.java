package io.pgloom.config;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Stream;

/** Turns a {@code [users]} line into a {@link UserEntry}, with PgBouncer 1.25's rules. */
final class UserDefinition {

    /** The per-user timeouts, each overriding the [pgbouncer] setting of the same name. */
    static final List<String> TIMEOUTS = List.of("client_idle_timeout", "idle_transaction_timeout", "query_timeout",
            "transaction_timeout");

    private static final Set<String> KNOWN = Set.copyOf(Stream.concat(TIMEOUTS.stream(), Stream.of("pool_mode",
            "pool_size", "reserve_pool_size", "max_user_connections", "max_user_client_connections")).toList());

    private UserDefinition() {
    }

    static UserEntry parse(String name, String settings, Location location) {
        EntryParameters params = EntryParameters.parse(settings, KNOWN);
        params.integer("pool_size");
        params.integer("reserve_pool_size");
        params.integer("max_user_client_connections");
        for (String timeout : TIMEOUTS) {
            params.checkSeconds(timeout);
        }
        Optional<PoolMode> poolMode = Optional.empty();
        if (params.string("pool_mode") != null) {
            try {
                poolMode = Optional.of(PoolMode.parse(params.string("pool_mode")));
            } catch (IllegalArgumentException e) {
                throw EntryParameters.invalid("pool_mode", params.string("pool_mode"), "expected one of session, transaction, statement");
            }
        }
        return new UserEntry(name, poolMode, params.override("max_user_connections", 1), params.raw(),
                location.toString());
    }
}
