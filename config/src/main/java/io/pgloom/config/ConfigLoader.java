package io.pgloom.config;

import io.pgloom.config.hba.HbaRules;
import io.pgloom.config.hba.HbaSettings;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Loads {@code pgbouncer.ini} into a {@link PgloomConfig}, accepting what PgBouncer 1.25 accepts
 * and refusing, with file:line, what it refuses. Where pgloom is lenient, it says so in a
 * {@link ConfigWarning} rather than staying silent.
 */
public final class ConfigLoader {

    private enum Section { MAIN, FAILOVER, DATABASES, USERS, PEERS, OTHER }

    private static final Map<String, Section> SECTIONS = Map.of(
            "pgbouncer", Section.MAIN, "failover", Section.FAILOVER, "databases", Section.DATABASES, "users", Section.USERS,
            "peers", Section.PEERS);

    /** A setting as the file set it; {@code line} counts lines across includes, for ordering. */
    private record Assignment(String value, Location location, int line) {
    }

    private final String shownFile;
    /** Warnings keyed by the index of the line they are about, to report them in file order. */
    private final List<Map.Entry<Integer, ConfigWarning>> warnings = new ArrayList<>();
    private int currentLine;
    private final Map<String, Assignment> settings = new LinkedHashMap<>();
    private final Map<String, DatabaseEntry> databases = new LinkedHashMap<>();
    private final Map<String, UserEntry> users = new LinkedHashMap<>();
    private final Map<Integer, PeerEntry> peers = new LinkedHashMap<>();
    private Section section;
    private boolean sawMainSection;

    private ConfigLoader(String shownFile) {
        this.shownFile = shownFile;
    }

    /** Loads the file with relative paths taken from the process's working directory, as PgBouncer does. */
    public static PgloomConfig load(Path iniFile) throws ConfigException {
        return load(iniFile, Path.of(""));
    }

    /**
     * Loads the file as if the process had been started in {@code workingDirectory}: relative
     * {@code %include} paths, a relative {@code iniFile} and {@link PgloomConfig#resolve} use it.
     */
    public static PgloomConfig load(Path iniFile, Path workingDirectory) throws ConfigException {
        Path base = workingDirectory.toAbsolutePath().normalize();
        ConfigLoader loader = new ConfigLoader(iniFile.toString());
        List<IniLine> lines = IniReader.read(iniFile, iniFile.toString(), base);
        for (IniLine line : lines) {
            loader.accept(line);
            loader.currentLine++;
        }
        return loader.finish(iniFile, base, lines);
    }

    private void accept(IniLine line) throws ConfigException {
        switch (line) {
            case IniLine.SectionHeader header -> openSection(header);
            case IniLine.KeyValue entry when section == null ->
                    throw new ConfigException(entry.location(), "'" + entry.key() + "' is outside of any section");
            case IniLine.KeyValue entry -> {
                try {
                    switch (section) {
                        case MAIN -> setting(entry, Setting.MAIN);
                        case FAILOVER -> setting(entry, Setting.FAILOVER);
                        case DATABASES -> database(entry);
                        case USERS -> user(entry);
                        case PEERS -> peer(entry);
                        case OTHER -> {
                            // Already warned about at the section header.
                        }
                    }
                } catch (IllegalArgumentException e) {
                    throw new ConfigException(entry.location(), e.getMessage());
                }
            }
        }
    }

    private void openSection(IniLine.SectionHeader header) throws ConfigException {
        String name = header.name();
        Section known = SECTIONS.get(name);
        if (known == null) {
            String near = name.strip().toLowerCase(Locale.ROOT);
            if (SECTIONS.containsKey(near)) {
                // PgBouncer refuses this too; ignoring [Databases] with a warning would lose every entry.
                throw new ConfigException(header.location(), "unknown section [" + name
                        + "]; section names are case-sensitive: did you mean [" + near + "]?");
            }
            warn(header.location(), "unknown section [" + name + "] ignored");
            section = Section.OTHER;
            return;
        }
        if (known == Section.MAIN) {
            // PgBouncer refills every default whenever [pgbouncer] opens, so earlier values are lost.
            // [failover]'s settings are pgloom's own and stay.
            List<String> earlier = settings.keySet().stream()
                    .filter(k -> Settings.byName(k).map(Setting::section).orElse(Setting.MAIN).equals(Setting.MAIN)).toList();
            if (sawMainSection && !earlier.isEmpty()) {
                warn(header.location(), "[pgbouncer] opened again: as in PgBouncer, every setting returns to its default here,"
                        + " discarding " + String.join(", ", earlier) + " set earlier");
            }
            earlier.forEach(settings::remove);
            sawMainSection = true;
        }
        section = known;
    }

    private void setting(IniLine.KeyValue entry, String section) {
        String name = entry.key();
        Setting setting = Settings.byName(name).orElseThrow(() -> unknownSetting(name));
        if (!setting.section().equals(section)) {
            throw new IllegalArgumentException("setting '" + name + "' belongs in [" + setting.section() + "], not in ["
                    + section + "]");
        }
        try {
            SettingValue.parse(setting, entry.value());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("invalid value '" + entry.value() + "' for setting '" + name + "': "
                    + e.getMessage());
        }
        settings.remove(name);
        settings.put(name, new Assignment(entry.value(), entry.location(), currentLine));
    }

    // PgBouncer refuses a file with an unknown setting ("unknown parameter"), so pgloom does too.
    private static IllegalArgumentException unknownSetting(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (!lower.equals(name) && Settings.byName(lower).isPresent()) {
            return new IllegalArgumentException("unknown setting '" + name + "'; did you mean '" + lower
                    + "'? Setting names are case-sensitive");
        }
        return new IllegalArgumentException("unknown setting '" + name + "'");
    }

    private void database(IniLine.KeyValue entry) {
        DatabaseEntry database = naming("database '" + entry.key() + "': ", () -> DatabaseDefinition.parse(
                entry.key(), entry.value(), entry.location(), message -> warn(entry.location(), message)));
        // A repeated name replaces the earlier entry but keeps its place, as PgBouncer's list does.
        databases.put(database.name(), database);
    }

    private void user(IniLine.KeyValue entry) {
        UserEntry user = naming("user '" + entry.key() + "': ", () -> UserDefinition.parse(
                entry.key(), entry.value(), entry.location()));
        users.put(user.name(), user);
    }

    private void peer(IniLine.KeyValue entry) {
        PeerEntry peer = naming("peer '" + entry.key() + "': ",
                () -> PeerDefinition.parse(entry.key(), entry.value(), entry.location()));
        peers.put(peer.id(), peer);
    }

    /** Runs {@code parse}, prefixing any complaint with the entry it is about. */
    private static <T> T naming(String entry, Supplier<T> parse) {
        try {
            return parse.get();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(entry + e.getMessage(), e);
        }
    }

    private PgloomConfig finish(Path iniFile, Path base, List<IniLine> lines) throws ConfigException {
        if (!sawMainSection) {
            int last = lines.isEmpty() ? 1 : lines.getLast().location().line();
            String where = lines.isEmpty() ? shownFile : lines.getLast().location().file();
            throw new ConfigException(new Location(where, last), "no [pgbouncer] section; PgBouncer requires one");
        }
        Map<String, String> explicit = new LinkedHashMap<>();
        Map<String, String> where = new LinkedHashMap<>();
        settings.forEach((name, assignment) -> {
            explicit.put(name, assignment.value());
            where.put(name, assignment.location().toString());
        });
        // Every value was checked as it was read, so this cannot fail.
        SettingValues values = new SettingValues(explicit, where, shownFile);
        settings.forEach((name, assignment) -> {
            if (SYSLOG_SETTINGS.contains(name)) {
                warnAboutSyslog(name, assignment, values);
            } else if (!values.isDefault(name)) {
                Setting setting = Settings.byName(name).orElseThrow();
                if (!setting.noEffect().isEmpty()) {
                    warn(assignment.line(), assignment.location(),
                            "setting '" + name + "' has no effect in pgloom: " + setting.noEffect());
                } else if (!setting.supported()) {
                    warn(assignment.line(), assignment.location(),
                            "setting '" + name + "' is not supported by pgloom yet; ignored");
                }
            }
        });
        Assignment authDbname = settings.get("auth_dbname");
        if (authDbname != null && authDbname.value().trim().equals("pgbouncer")) {
            // PgBouncer's words: the admin console is no database a server connection can log into.
            throw new ConfigException(authDbname.location(), "cannot use the reserved \"pgbouncer\" database as an auth_dbname");
        }
        HbaRules hba = loadHba(values, base);
        List<ConfigWarning> inFileOrder = new ArrayList<>(warnings.stream().sorted(Map.Entry.comparingByKey())
                .map(Map.Entry::getValue).toList());
        if (hba != null) {
            inFileOrder.addAll(hba.warnings());
        }
        return new PgloomConfig(iniFile, values, List.copyOf(databases.values()), users, inFileOrder,
                List.copyOf(peers.values()), base, hba);
    }

    /**
     * auth_type = hba: the rules of auth_hba_file and the maps of auth_ident_file, read now so that a
     * broken file is refused with file:line like the ini itself (a reload then keeps the old rules).
     * Without auth_hba_file PgBouncer starts and refuses every login; pgloom does too, and warns.
     */
    private HbaRules loadHba(SettingValues values, Path base) throws ConfigException {
        if (values.authType() != AuthType.HBA) {
            return null;
        }
        if (values.string("auth_hba_file").isEmpty()) {
            Assignment type = settings.get("auth_type");
            warn(type.line(), type.location(), "auth_type = hba without auth_hba_file: every login is refused");
            return null;
        }
        return HbaSettings.load(values, path -> base.resolve(path).normalize());
    }

    private static final java.util.Set<String> SYSLOG_SETTINGS = java.util.Set.of("syslog", "syslog_facility", "syslog_ident");

    /**
     * syslog is the one logging target pgloom cannot offer: the JDK has no Unix datagram socket to
     * write to /dev/log with. Say so in words a PgBouncer user acts on, rather than the generic
     * "not supported yet", and flag syslog_facility/syslog_ident, which then change nothing.
     */
    private void warnAboutSyslog(String name, Assignment assignment, SettingValues values) {
        if (name.equals("syslog")) {
            if (values.bool("syslog")) {
                warn(assignment.line(), assignment.location(), "syslog = 1 is not supported; pgloom logs to stderr and"
                        + " logfile; to reach syslog, let the service manager pass stderr on (systemd's journal does)"
                        + " or pipe it through logger(1)");
            }
        } else if (!values.isDefault(name)) {
            warn(assignment.line(), assignment.location(), name + " has no effect: pgloom does not log to syslog"
                    + (values.bool("syslog") ? " (syslog = 1 is not supported)" : " (syslog = 0)"));
        }
    }

    private void warn(Location location, String message) {
        warn(currentLine, location, message);
    }

    private void warn(int line, Location location, String message) {
        warnings.add(Map.entry(line, new ConfigWarning(location.toString(), message)));
    }
}
