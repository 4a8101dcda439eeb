package io.pgloom.config;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * One line of {@code [users]}: settings that apply to every connection of a user.
 *
 * @param maxUserConnections empty when PgBouncer would use the global {@code max_user_connections}
 *                           (not written, or 0 or less)
 * @param raw                every parameter as written, in order
 * @param location           "file:line" of the entry
 */
public record UserEntry(String name, Optional<PoolMode> poolMode, OptionalInt maxUserConnections,
                        Map<String, String> raw, String location) {

    public UserEntry {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(poolMode, "poolMode");
        Objects.requireNonNull(maxUserConnections, "maxUserConnections");
        raw = Collections.unmodifiableMap(new LinkedHashMap<>(raw));
        Objects.requireNonNull(location, "location");
    }

    /**
     * This user's {@code max_user_client_connections}; empty when the global setting applies (not
     * written, or 0 or less, as PgBouncer reads it).
     */
    public OptionalInt maxUserClientConnections() {
        return EntryParameters.of(raw).override("max_user_client_connections", 1);
    }

    /**
     * This user's {@code pool_size}: the size of every pool whose server connections log in as
     * this user, before the database's {@code pool_size} and {@code default_pool_size} (PgBouncer
     * 1.25's order). Empty when not written or negative.
     */
    public OptionalInt poolSize() {
        return EntryParameters.of(raw).override("pool_size", 0);
    }

    /** This user's {@code reserve_pool_size}, before the database's and the global one; empty when not written or negative. */
    public OptionalInt reservePoolSize() {
        return EntryParameters.of(raw).override("reserve_pool_size", 0);
    }

    /**
     * This user's value of a per-user timeout ({@code client_idle_timeout},
     * {@code idle_transaction_timeout}, {@code query_timeout}, {@code transaction_timeout}); empty
     * when not written or 0, where the [pgbouncer] setting applies, as in PgBouncer.
     */
    public Optional<Duration> timeout(String name) {
        if (!UserDefinition.TIMEOUTS.contains(name)) {
            throw new IllegalArgumentException("not a per-user timeout: " + name);
        }
        String value = raw.get(name);
        Duration d = value == null ? Duration.ZERO : SettingValue.parseSeconds(value);
        return d.isZero() || d.isNegative() ? Optional.empty() : Optional.of(d);
    }
}
