package io.pgloom.config;

import io.pgloom.config.hba.HbaRules;
import io.pgloom.config.hba.HbaSettings;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Everything one load (or reload) of {@code pgbouncer.ini} produced. Immutable: a reload makes
 * a new one, so readers never see half a reload.
 *
 * @param file             the file that was loaded, as named to the loader
 * @param databases        {@code [databases]} in file order, the {@code *} entry included
 * @param users            {@code [users]} by name, in file order
 * @param warnings         what was accepted but will not be acted on, in file order
 * @param peers            {@code [peers]} in file order
 * @param workingDirectory what relative paths in the file resolve against
 * @param hba              the rules of auth_hba_file, loaded when auth_type is hba and it is set;
 *                         null otherwise
 */
public record PgloomConfig(Path file, SettingValues settings, List<DatabaseEntry> databases,
                           Map<String, UserEntry> users, List<ConfigWarning> warnings, List<PeerEntry> peers,
                           Path workingDirectory, HbaRules hba) {

    public PgloomConfig {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(settings, "settings");
        databases = List.copyOf(databases);
        users = Collections.unmodifiableMap(new LinkedHashMap<>(users));
        warnings = List.copyOf(warnings);
        peers = List.copyOf(peers);
        workingDirectory = workingDirectory.toAbsolutePath().normalize();
    }

    /** A snapshot without peers whose relative paths resolve against the process's directory. */
    public PgloomConfig(Path file, SettingValues settings, List<DatabaseEntry> databases,
                        Map<String, UserEntry> users, List<ConfigWarning> warnings) {
        this(file, settings, databases, users, warnings, List.of(), Path.of(""), null);
    }

    /**
     * This snapshot with other settings (SET on the admin console). A SET of auth_type,
     * auth_hba_file or auth_ident_file reads the rules it now asks for, so that SET auth_type = hba
     * does not refuse everyone for want of rules; a broken file refuses the SET.
     *
     * @throws IllegalArgumentException with file:line, when the hba or ident file cannot be read
     */
    public PgloomConfig withSettings(SettingValues next) {
        HbaRules rules = hba;
        if (HbaSettings.changed(settings, next)) {
            try {
                rules = HbaSettings.load(next, this::resolve);
            } catch (ConfigException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
        }
        return new PgloomConfig(file, next, databases, users, warnings, peers, workingDirectory, rules);
    }

    /** The hba rules, when auth_type = hba loaded them. */
    public Optional<HbaRules> hbaRules() {
        return Optional.ofNullable(hba);
    }

    /**
     * The entry for the database a client asked for: the entry of that exact name
     * (case-sensitive), else the {@code *} entry made concrete for it (see
     * {@link DatabaseEntry#forDatabase}), else empty.
     */
    public Optional<DatabaseEntry> database(String name) {
        DatabaseEntry fallback = null;
        for (DatabaseEntry entry : databases) {
            if (entry.name().equals(name)) {
                return Optional.of(entry);
            }
            if (entry.isFallback()) {
                fallback = entry;
            }
        }
        return Optional.ofNullable(fallback).map(entry -> entry.forDatabase(name));
    }

    /**
     * Resolves a path written in the file ({@code auth_file}, {@code logfile}, ...). PgBouncer
     * opens such paths as written, so a relative one is relative to the directory pgbouncer was
     * started in, not to the ini file's directory; pgloom keeps that rule so an existing setup
     * finds the same files.
     */
    public Path resolve(String path) {
        return workingDirectory.resolve(path).normalize();
    }

    /** {@code auth_file}, resolved; empty when unset. */
    public Optional<Path> authFile() {
        String authFile = settings.string("auth_file");
        return authFile.isEmpty() ? Optional.empty() : Optional.of(resolve(authFile));
    }
}
