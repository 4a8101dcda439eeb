package io.pgloom.config.hba;

import io.pgloom.config.ConfigException;
import io.pgloom.config.TextFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads {@code auth_ident_file} in pg_ident.conf syntax: {@code MAPNAME SYSTEM-USERNAME
 * PG-USERNAME} a line, names quoted as in the hba file. A system name starting with {@code /} is a
 * regular expression, whose first group {@code \1} in the database user name stands for; the
 * database user {@code all} means any user. Errors carry file:line.
 */
public final class IdentFile {

    private IdentFile() {
    }

    /**
     * @param shown how the file is named in messages and rule locations
     * @return the maps by name, in file order
     */
    public static Map<String, IdentMap> load(Path file, String shown) throws ConfigException {
        List<String> lines = TextFile.lines(file, shown);
        Map<String, List<IdentMapping>> maps = new LinkedHashMap<>();
        for (int i = 0; i < lines.size(); i++) {
            String location = shown + ":" + (i + 1);
            List<List<HbaTokenizer.Token>> fields = HbaTokenizer.fields(lines.get(i), location);
            if (fields.isEmpty()) {
                continue;
            }
            try {
                IdentMapping mapping = mapping(fields, location);
                maps.computeIfAbsent(fields.getFirst().getFirst().text(), k -> new ArrayList<>()).add(mapping);
            } catch (IllegalArgumentException e) {
                throw new ConfigException(location, e.getMessage());
            }
        }
        Map<String, IdentMap> result = new LinkedHashMap<>();
        maps.forEach((name, mappings) -> result.put(name, new IdentMap(name, mappings)));
        return Collections.unmodifiableMap(result);
    }

    private static IdentMapping mapping(List<List<HbaTokenizer.Token>> fields, String location) {
        if (fields.size() != 3) {
            throw new IllegalArgumentException("expected 3 fields (MAPNAME SYSTEM-USERNAME PG-USERNAME), found "
                    + fields.size());
        }
        for (List<HbaTokenizer.Token> field : fields) {
            if (field.size() != 1) {
                throw new IllegalArgumentException("a list is not allowed in a user name map: " + HbaTokenizer.join(field));
            }
        }
        HbaTokenizer.Token system = fields.get(1).getFirst();
        HbaTokenizer.Token database = fields.get(2).getFirst();
        if (!database.quoted() && (database.text().startsWith("/") || database.text().startsWith("+"))) {
            throw new IllegalArgumentException("PG-USERNAME " + database + ": regular expressions and +group are not"
                    + " supported there; write a user name or all");
        }
        boolean any = database.is("all");
        if (!system.text().startsWith("/")) {
            return new IdentMapping(location, system.text(), null, database.text(), any);
        }
        Pattern pattern;
        try {
            pattern = Pattern.compile(system.text().substring(1));
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("invalid regular expression " + system + ": " + e.getDescription());
        }
        if (!any && database.text().contains("\\1") && pattern.matcher("").groupCount() < 1) {
            throw new IllegalArgumentException(database + " uses \\1 but " + system + " has no group in parentheses");
        }
        return new IdentMapping(location, null, pattern, database.text(), any);
    }
}
