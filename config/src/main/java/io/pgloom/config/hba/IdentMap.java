package io.pgloom.config.hba;

import java.util.List;

/**
 * A user name map of {@code auth_ident_file}, named by an hba rule's {@code map=} option: which OS
 * users (or certificate names) may log in as which database users.
 *
 * @param name  the map's name, the first field of its lines
 * @param lines its lines in file order
 */
public record IdentMap(String name, List<IdentMapping> lines) {

    public IdentMap {
        lines = List.copyOf(lines);
    }

    /** True if some line of this map lets OS user {@code osUser} log in as {@code user}. */
    public boolean permits(String osUser, String user) {
        return lines.stream().anyMatch(line -> line.permits(osUser, user));
    }
}
