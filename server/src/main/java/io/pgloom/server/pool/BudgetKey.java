package io.pgloom.server.pool;

/**
 * Which shared cap a {@link ConnectionBudget} enforces. The same key names the same budget on
 * every pgloom that shares it, so a cluster-wide budget can be found by it.
 */
public record BudgetKey(Kind kind, String name) {
    public enum Kind {
        /** max_db_connections: across the users of one database entry. */
        DATABASE,
        /** max_user_connections: across the databases of one server user. */
        USER
    }

    public static BudgetKey database(String name) {
        return new BudgetKey(Kind.DATABASE, name);
    }

    public static BudgetKey user(String name) {
        return new BudgetKey(Kind.USER, name);
    }
}
