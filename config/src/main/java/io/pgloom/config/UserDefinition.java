package io.pgloom.config;

import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

/** Turns a {@code [users]} line into a {@link UserEntry}, with PgBouncer 1.25's rules. */
final class UserDefinition {

    private static final List<String> NOT_YET = List.of("client_idle_timeout", "idle_transaction_timeout",
            "pool_size", "query_timeout", "reserve_pool_size", "transaction_timeout");

    private static final Set<String> KNOWN = Set.copyOf(
            Stream.concat(NOT_YET.stream(), Stream.of("pool_mode", "max_user_connections", "max_user_client_connections")).toList());

    private UserDefinition() {
    }

    static UserEntry parse(String name, String settings, Location location, Consumer<String> warn) {
        EntryParameters params = EntryParameters.parse(settings, KNOWN);
        for (String key : NOT_YET) {
            if (params.string(key) != null) {
                warn.accept("user '" + name + "': parameter '" + key + "' is not supported by pgloom yet; ignored");
            }
        }
        params.integer("pool_size");
        params.integer("reserve_pool_size");
        params.integer("max_user_client_connections");
        for (String timeout : List.of("client_idle_timeout", "idle_transaction_timeout", "query_timeout",
                "transaction_timeout")) {
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
