package io.pgloom.config;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Consumer;
import java.util.stream.Stream;

/** Turns a {@code [databases]} line into a {@link DatabaseEntry}, with PgBouncer 1.25's rules. */
final class DatabaseDefinition {

    /** Parameters pgloom acts on. */
    private static final Set<String> SUPPORTED = Set.of("dbname", "host", "port", "user", "password", "auth_user", "auth_dbname", "auth_query",
            "pool_size", "min_pool_size", "reserve_pool_size", "reserve_pool", "pool_mode", "max_db_connections",
            "max_db_client_connections", "connect_query", "client_encoding", "datestyle", "timezone", "application_name",
            "server_lifetime", "load_balance_hosts", "target_session_attrs");

    /** Parameters PgBouncer 1.25 knows but pgloom does not act on yet: accepted with a warning. */
    private static final List<String> NOT_YET = List.of();

    private static final Set<String> KNOWN = Set.copyOf(Stream.concat(SUPPORTED.stream(), NOT_YET.stream()).toList());

    /** The admin console's name; PgBouncer refuses it in [databases]. */
    static final String RESERVED = "pgbouncer";

    private DatabaseDefinition() {
    }

    /**
     * @param warn receives one message per parameter that pgloom ignores
     * @throws IllegalArgumentException for what PgBouncer refuses, and for values that do not parse
     */
    static DatabaseEntry parse(String name, String connectString, Location location, Consumer<String> warn) {
        if (name.equals(RESERVED)) {
            throw new IllegalArgumentException("the name is reserved for the admin console");
        }
        EntryParameters params = EntryParameters.parse(connectString, KNOWN);
        for (String key : NOT_YET) {
            if (params.string(key) != null) {
                warn.accept("database '" + name + "': parameter '" + key + "' is not supported by pgloom yet; ignored");
            }
        }
        params.checkChoice("load_balance_hosts", List.of("round-robin", "disable"));
        params.integer("max_db_client_connections");
        params.checkSeconds("server_lifetime");

        if (params.string("target_session_attrs") != null) {
            try {
                TargetSessionAttrs.parse(params.string("target_session_attrs"));
            } catch (IllegalArgumentException e) {
                throw EntryParameters.invalid("target_session_attrs", params.string("target_session_attrs"), e.getMessage());
            }
        }
        List<String> hosts = hosts(params.string("host"));
        int port = ports(params.string("port"), hosts.size()).getFirst();
        Optional<PoolMode> poolMode = Optional.empty();
        if (params.string("pool_mode") != null) {
            try {
                poolMode = Optional.of(PoolMode.parse(params.string("pool_mode")));
            } catch (IllegalArgumentException e) {
                throw EntryParameters.invalid("pool_mode", params.string("pool_mode"), "expected one of session, transaction, statement");
            }
        }
        // reserve_pool is the pre-1.24 spelling; when both appear the later one wins, as in PgBouncer.
        OptionalInt reserve = OptionalInt.empty();
        for (String key : params.raw().keySet()) {
            if (key.equals("reserve_pool") || key.equals("reserve_pool_size")) {
                reserve = params.override(key, 0);
            }
        }
        return new DatabaseEntry(name, hosts, port, params.string("dbname"),
                params.string("user"), params.string("password"), params.override("pool_size", 0),
                params.override("min_pool_size", 0), reserve, poolMode, params.override("max_db_connections", 1),
                params.string("connect_query"), params.string("client_encoding"), params.string("datestyle"),
                params.string("timezone"), params.string("auth_user"), params.raw(), location.toString());
    }

    /**
     * The {@code port} list: one port for every host, or one per host in the host list's order
     * (libpq's rule); PostgreSQL's 5432 when unset.
     */
    static List<Integer> ports(String port, int hosts) {
        if (port == null || port.isBlank()) {
            return List.of(DatabaseEntry.DEFAULT_PORT);
        }
        List<Integer> ports = Arrays.stream(port.split(",", -1)).map(String::strip).map(p -> {
            try {
                int n = Integer.parseInt(p);
                if (n >= 1 && n <= 65535) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // refused below
            }
            throw EntryParameters.invalid("port", port, "expected a port number from 1 to 65535, or a comma-separated"
                    + " list of them, one per host");
        }).toList();
        if (ports.size() > 1 && ports.size() != hosts) {
            throw EntryParameters.invalid("port", port, ports.size() + " ports for " + hosts
                    + (hosts == 1 ? " host" : " hosts") + ": give one port for all hosts, or one per host");
        }
        return ports;
    }

    private static List<String> hosts(String host) {
        if (host == null) {
            return List.of();
        }
        return Arrays.stream(host.split(",")).map(String::strip).filter(h -> !h.isEmpty()).toList();
    }
}
