package io.pgloom.config.hba;

import io.pgloom.config.ConfigException;
import io.pgloom.config.ConfigWarning;
import io.pgloom.config.TextFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads {@code auth_hba_file} as PgBouncer 1.25 does: pg_hba.conf lines of type {@code local},
 * {@code host}, {@code hostssl} or {@code hostnossl}; database and user lists with {@code all},
 * {@code sameuser}, {@code replication}, quoted names and {@code @file} includes (relative to the
 * including file); addresses in CIDR or address-and-netmask form, or {@code all}; the methods of
 * {@link HbaMethod}; the option {@code map=NAME} for peer and cert.
 *
 * <p>One difference: PgBouncer logs a line it cannot parse and skips it, which silently changes
 * which rule a client meets; pgloom refuses the file with the line's file:line, and on a reload
 * keeps the rules it has.
 */
public final class HbaFile {
    /** How deep {@code @file} includes may nest: a file that includes itself stops here. */
    private static final int MAX_INCLUDE_DEPTH = 10;
    /** pg_hba.conf methods PostgreSQL has and PgBouncer or pgloom do not. */
    private static final Set<String> OTHER_METHODS = Set.of("ldap", "pam", "gss", "sspi", "ident", "radius", "bsd", "oauth");

    private final Map<String, IdentMap> identMaps;
    private final String identShown;
    private final List<ConfigWarning> warnings = new ArrayList<>();

    private HbaFile(Map<String, IdentMap> identMaps, String identShown) {
        this.identMaps = identMaps;
        this.identShown = identShown;
    }

    /**
     * @param shown      how the file is named in messages and rule locations
     * @param identMaps  the maps of auth_ident_file; null when it is not set
     * @param identShown how auth_ident_file is named in messages; null when it is not set
     */
    public static HbaRules load(Path file, String shown, Map<String, IdentMap> identMaps, String identShown)
            throws ConfigException {
        HbaFile parser = new HbaFile(identMaps, identShown);
        List<HbaRule> rules = new ArrayList<>();
        List<String> lines = TextFile.lines(file, shown);
        for (int i = 0; i < lines.size(); i++) {
            String location = shown + ":" + (i + 1);
            List<List<HbaTokenizer.Token>> fields = HbaTokenizer.fields(lines.get(i), location);
            if (!fields.isEmpty()) {
                try {
                    rules.add(parser.rule(fields, location, file, shown));
                } catch (IllegalArgumentException e) {
                    throw new ConfigException(location, e.getMessage());
                }
            }
        }
        return new HbaRules(shown, rules, parser.warnings);
    }

    private HbaRule rule(List<List<HbaTokenizer.Token>> fields, String location, Path file, String shown)
            throws ConfigException {
        RecordType type = recordType(single(fields.getFirst(), "record type"));
        if (fields.size() < (type == RecordType.LOCAL ? 3 : 4)) {
            throw new IllegalArgumentException("expected " + type.configName() + " DATABASE USER "
                    + (type == RecordType.LOCAL ? "" : "ADDRESS ") + "METHOD [OPTIONS]");
        }
        NameList databases = names(fields.get(1), true, file, shown);
        NameList users = names(fields.get(2), false, file, shown);
        int next = 3;
        AddressRange address = null;
        if (type != RecordType.LOCAL) {
            address = address(fields, location);
            next = address == AddressRange.ALL || text(fields.get(3)).contains("/") ? 4 : 5;
        }
        if (fields.size() <= next) {
            throw new IllegalArgumentException("no authentication method: expected one of trust, reject, md5, password,"
                    + " scram-sha-256, peer, cert");
        }
        HbaMethod method = method(single(fields.get(next), "method"));
        IdentMap map = null;
        for (List<HbaTokenizer.Token> option : fields.subList(next + 1, fields.size())) {
            map = option(single(option, "option"), method, map);
        }
        return new HbaRule(location, type, databases, users, address, method, map);
    }

    private static RecordType recordType(HbaTokenizer.Token token) {
        for (RecordType type : RecordType.values()) {
            if (token.is(type.configName())) {
                return type;
            }
        }
        throw new IllegalArgumentException("unknown record type " + token + ": expected local, host, hostssl or hostnossl"
                + (token.text().startsWith("hostgss") || token.text().startsWith("hostnogss")
                ? " (PgBouncer has no GSSAPI encryption)" : ""));
    }

    private NameList names(List<HbaTokenizer.Token> field, boolean database, Path file, String shown) throws ConfigException {
        NameCollector names = new NameCollector(database);
        names.add(field, file, shown, 0);
        return names.list();
    }

    /** Gathers one database or user field, @file includes expanded in place. */
    private static final class NameCollector {
        private final boolean database;
        private boolean all;
        private boolean sameuser;
        private boolean replication;
        private final Set<String> names = new HashSet<>();

        NameCollector(boolean database) {
            this.database = database;
        }

        void add(List<HbaTokenizer.Token> items, Path file, String shown, int depth) throws ConfigException {
            for (HbaTokenizer.Token item : items) {
                if (item.is("all")) {
                    all = true;
                } else if (database && item.is("sameuser")) {
                    sameuser = true;
                } else if (database && item.is("replication")) {
                    replication = true;
                } else if (database && (item.is("samerole") || item.is("samegroup"))) {
                    throw new IllegalArgumentException(item.text() + " is not supported (PgBouncer has no roles to check)");
                } else if (!item.quoted() && item.text().startsWith("+")) {
                    throw new IllegalArgumentException("group membership (" + item.text() + ") is not supported,"
                            + " as in PgBouncer: list the users, or put them in an @file");
                } else if (!item.quoted() && item.text().startsWith("@")) {
                    include(item.text().substring(1), file, shown, depth);
                } else {
                    names.add(item.text());
                }
            }
        }

        private void include(String name, Path file, String shown, int depth) throws ConfigException {
            if (name.isEmpty()) {
                throw new IllegalArgumentException("@ without a file name");
            }
            if (depth >= MAX_INCLUDE_DEPTH) {
                throw new IllegalArgumentException("@" + name + ": includes nested more than " + MAX_INCLUDE_DEPTH
                        + " deep (does a file include itself?)");
            }
            // As PgBouncer and PostgreSQL: relative to the directory of the file that names it.
            Path included = file.resolveSibling(name);
            String includedShown = Path.of(shown).resolveSibling(name).toString();
            List<String> lines = TextFile.lines(included, includedShown);
            for (int i = 0; i < lines.size(); i++) {
                String location = includedShown + ":" + (i + 1);
                try {
                    for (List<HbaTokenizer.Token> field : HbaTokenizer.fields(lines.get(i), location)) {
                        add(field, included, includedShown, depth + 1);
                    }
                } catch (IllegalArgumentException e) {
                    throw new ConfigException(location, e.getMessage());
                }
            }
        }

        NameList list() {
            return new NameList(all, sameuser, replication, names);
        }
    }

    private AddressRange address(List<List<HbaTokenizer.Token>> fields, String location) {
        HbaTokenizer.Token token = single(fields.get(3), "address");
        if (token.is("all")) {
            return AddressRange.ALL;
        }
        if (token.is("samehost") || token.is("samenet")) {
            throw new IllegalArgumentException(token.text() + " is not supported, as in PgBouncer: write the addresses"
                    + " in CIDR form, e.g. 127.0.0.1/32");
        }
        String text = token.text();
        int slash = text.indexOf('/');
        AddressRange range;
        if (slash >= 0) {
            range = AddressRange.parse(text.substring(0, slash), text.substring(slash + 1), null);
        } else {
            if (fields.size() < 5) {
                throw new IllegalArgumentException("address " + text + " without a /prefix length needs a netmask field"
                        + " after it");
            }
            range = AddressRange.parse(text, null, text(fields.get(4)));
        }
        if (range.hasHostBits()) {
            // PgBouncer warns and keeps it; the rule then matches no client.
            warnings.add(new ConfigWarning(location, "address " + text + " has bits set outside its netmask: this rule"
                    + " matches no client, as in PgBouncer (did you mean the network address?)"));
        }
        return range;
    }

    private static HbaMethod method(HbaTokenizer.Token token) {
        HbaMethod method = token.quoted() ? null : HbaMethod.parse(token.text());
        if (method != null) {
            return method;
        }
        if (OTHER_METHODS.contains(token.text())) {
            throw new IllegalArgumentException("method " + token.text() + " is not supported by pgloom");
        }
        throw new IllegalArgumentException("unknown method " + token + ": expected one of trust, reject, md5, password,"
                + " scram-sha-256, peer, cert");
    }

    private IdentMap option(HbaTokenizer.Token token, HbaMethod method, IdentMap map) {
        String text = token.text();
        int eq = text.indexOf('=');
        if (eq < 0 || !text.substring(0, eq).equals("map")) {
            throw new IllegalArgumentException("unknown option " + token + ": pgloom knows map=NAME");
        }
        String name = text.substring(eq + 1);
        if (!method.takesIdentMap()) {
            throw new IllegalArgumentException("map=" + name + " applies to methods peer and cert only, not "
                    + method.configName());
        }
        if (map != null) {
            throw new IllegalArgumentException("map= is given twice");
        }
        if (identMaps == null) {
            throw new IllegalArgumentException("map=" + name + " needs auth_ident_file, which is not set");
        }
        IdentMap found = identMaps.get(name);
        if (found == null) {
            throw new IllegalArgumentException("ident map " + name + " is not defined in " + identShown);
        }
        return found;
    }

    private static HbaTokenizer.Token single(List<HbaTokenizer.Token> field, String what) {
        if (field.size() != 1) {
            throw new IllegalArgumentException("the " + what + " field is a list (" + HbaTokenizer.join(field)
                    + "); only databases and users may be lists");
        }
        return field.getFirst();
    }

    private static String text(List<HbaTokenizer.Token> field) {
        return single(field, "address").text();
    }
}
