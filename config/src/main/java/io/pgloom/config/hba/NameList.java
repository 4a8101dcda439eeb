package io.pgloom.config.hba;

import java.util.Set;

/**
 * The database or the user field of an hba rule: names, plus the keywords {@code all},
 * {@code sameuser} and {@code replication} when written without quotes.
 *
 * @param all         matches every name (but, in the database field, no replication connection)
 * @param sameuser    database field: matches a database named as the user
 * @param replication database field: matches replication connections, and only them
 * @param names       the literal names, quoted ones included
 */
public record NameList(boolean all, boolean sameuser, boolean replication, Set<String> names) {

    public NameList {
        names = Set.copyOf(names);
    }

    /** Database field: does it cover {@code database} for {@code user}, on a replication connection or not? */
    boolean matchesDatabase(String database, String user, boolean replicationConnection) {
        if (replicationConnection) {
            // As PostgreSQL: only the replication keyword covers a replication connection.
            return replication;
        }
        return all || (sameuser && database.equals(user)) || names.contains(database);
    }

    /** User field: does it cover {@code user}? */
    boolean matchesUser(String user) {
        return all || names.contains(user);
    }
}
