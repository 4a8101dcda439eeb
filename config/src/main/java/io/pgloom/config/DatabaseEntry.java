package io.pgloom.config;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * One line of {@code [databases]}: the name clients ask for and where pgloom connects for it.
 * The sizes and limits are empty when PgBouncer would use the global setting instead (not
 * written, or written as a negative number; for {@code max_db_connections} also 0).
 *
 * @param hosts          the {@code host} list; empty when unset (PgBouncer then uses its Unix
 *                       socket directory)
 * @param dbname         the server-side database, null meaning the same as {@code name}
 * @param reservePool    {@code reserve_pool_size}, or its older spelling {@code reserve_pool}
 * @param raw            every parameter as written (unquoted), in order
 * @param location       "file:line" of the entry
 */
public record DatabaseEntry(String name, List<String> hosts, int port, String dbname, String user, String password,
                            OptionalInt poolSize, OptionalInt minPoolSize, OptionalInt reservePool,
                            Optional<PoolMode> poolMode, OptionalInt maxDbConnections, String connectQuery,
                            String clientEncoding, String datestyle, String timezone, String authUser,
                            Map<String, String> raw, String location) {

    /** PostgreSQL's port, PgBouncer's default when an entry names none. */
    public static final int DEFAULT_PORT = 5432;

    /** The fallback entry's name: used for any database not listed. */
    public static final String FALLBACK = "*";

    public DatabaseEntry {
        Objects.requireNonNull(name, "name");
        hosts = List.copyOf(hosts);
        raw = Collections.unmodifiableMap(new LinkedHashMap<>(raw));
        Objects.requireNonNull(poolSize, "poolSize");
        Objects.requireNonNull(minPoolSize, "minPoolSize");
        Objects.requireNonNull(reservePool, "reservePool");
        Objects.requireNonNull(poolMode, "poolMode");
        Objects.requireNonNull(maxDbConnections, "maxDbConnections");
        Objects.requireNonNull(location, "location");
    }

    /** The database to ask the server for: {@code dbname}, else the entry's own name. */
    public String serverDatabase() {
        return dbname != null ? dbname : name;
    }

    /** {@code auth_dbname}: the [databases] entry whose connection runs auth_query; null for the global setting. */
    public String authDbname() {
        return raw.get("auth_dbname");
    }

    /** {@code auth_query} of this entry; null for the global setting. */
    public String authQuery() {
        return raw.get("auth_query");
    }

    /**
     * This entry's {@code max_db_client_connections}; empty when the global setting applies (not
     * written, or 0 or less, as PgBouncer reads it).
     */
    public OptionalInt maxDbClientConnections() {
        return EntryParameters.of(raw).override("max_db_client_connections", 1);
    }

    /**
     * This entry's {@code server_lifetime}; empty when the global setting applies (not written, or
     * 0, as PgBouncer reads it).
     */
    public Optional<Duration> serverLifetime() {
        String value = raw.get("server_lifetime");
        Duration d = value == null ? Duration.ZERO : SettingValue.parseSeconds(value);
        return d.isZero() ? Optional.empty() : Optional.of(d);
    }

    /**
     * {@code application_name} of this entry: sent to the server at login when the client set
     * none, as client_encoding, datestyle and timezone are; null when not written.
     */
    public String applicationName() {
        return raw.get("application_name");
    }

    /**
     * The port of each host, in the host list's order: {@code port=} gives one port for all hosts
     * or one per host. An entry without hosts has one port.
     */
    public List<Integer> ports() {
        List<Integer> ports = DatabaseDefinition.ports(raw.get("port"), hosts.size());
        if (ports.size() == 1 && raw.get("port") == null) {
            ports = List.of(port); // an entry made in code, with its port but no raw text
        }
        if (ports.size() == hosts.size() || hosts.isEmpty()) {
            return ports;
        }
        return java.util.Collections.nCopies(hosts.size(), ports.getFirst());
    }

    /** {@code load_balance_hosts}: round-robin (PgBouncer's default) or disable. */
    public LoadBalanceHosts loadBalanceHosts() {
        String value = raw.get("load_balance_hosts");
        return value == null ? LoadBalanceHosts.ROUND_ROBIN : LoadBalanceHosts.parse(value);
    }

    /** {@code target_session_attrs}: which hosts its server connections may go to; any when unset. */
    public TargetSessionAttrs targetSessionAttrs() {
        String value = raw.get("target_session_attrs");
        return value == null ? TargetSessionAttrs.ANY : TargetSessionAttrs.parse(value);
    }

    /** Whether this is the {@code *} entry. */
    public boolean isFallback() {
        return name.equals(FALLBACK);
    }

    /**
     * This fallback entry made concrete for the database a client asked for, as PgBouncer makes
     * its "auto databases": the requested name, and as {@code dbname} the requested name unless
     * the {@code *} entry names one.
     */
    public DatabaseEntry forDatabase(String requested) {
        return new DatabaseEntry(requested, hosts, port, dbname != null ? dbname : requested, user, password, poolSize,
                minPoolSize, reservePool, poolMode, maxDbConnections, connectQuery, clientEncoding, datestyle,
                timezone, authUser, raw, location);
    }

    /** Keeps the password out of logs and exception messages. */
    @Override
    public String toString() {
        Map<String, String> shown = new LinkedHashMap<>(raw);
        shown.computeIfPresent("password", (key, value) -> "***");
        return "DatabaseEntry[" + name + " " + shown + " at " + location + "]";
    }
}
