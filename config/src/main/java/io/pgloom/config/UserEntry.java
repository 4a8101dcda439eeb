package io.pgloom.config;

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
}
