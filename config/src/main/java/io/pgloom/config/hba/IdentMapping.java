package io.pgloom.config.hba;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One line of {@code auth_ident_file}: OS user {@code systemUser} (or any OS user its regular
 * expression finds a match in) may log in as database user {@code databaseUser} (or as anyone
 * when {@code anyDatabaseUser}).
 *
 * @param location        file:line, for logs
 * @param systemUser      the OS user name; null when {@code pattern} is set
 * @param pattern         the regular expression written as {@code /regex}; null for a literal name
 * @param databaseUser    the database user; with a pattern, {@code \1} in it stands for the
 *                        expression's first group, as in PostgreSQL
 * @param anyDatabaseUser true for the keyword {@code all}
 */
public record IdentMapping(String location, String systemUser, Pattern pattern, String databaseUser,
                           boolean anyDatabaseUser) {

    /** True if this line lets OS user {@code osUser} log in as {@code user}. */
    public boolean permits(String osUser, String user) {
        if (pattern == null) {
            return systemUser.equals(osUser) && (anyDatabaseUser || databaseUser.equals(user));
        }
        // As PostgreSQL: the expression may match anywhere in the name; anchor it with ^ and $.
        Matcher m = pattern.matcher(osUser);
        if (!m.find()) {
            return false;
        }
        if (anyDatabaseUser) {
            return true;
        }
        int ref = databaseUser.indexOf("\\1");
        if (ref < 0) {
            return databaseUser.equals(user);
        }
        // PostgreSQL replaces the first \1 only.
        String expected = databaseUser.substring(0, ref) + (m.group(1) == null ? "" : m.group(1))
                + databaseUser.substring(ref + 2);
        return expected.equals(user);
    }

    @Override
    public String toString() {
        return location + ": " + (pattern == null ? systemUser : "/" + pattern.pattern()) + " "
                + (anyDatabaseUser ? "all" : databaseUser);
    }
}
