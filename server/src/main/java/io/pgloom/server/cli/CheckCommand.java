package io.pgloom.server.cli;

import io.pgloom.config.ConfigException;
import io.pgloom.config.ConfigLoader;
import io.pgloom.config.DatabaseEntry;
import io.pgloom.config.PgloomConfig;
import io.pgloom.config.Setting;
import io.pgloom.config.Settings;
import io.pgloom.config.UserList;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code pgloom check CONFIG.ini}: validate and show the effective settings. */
@Command(name = "check", mixinStandardHelpOptions = true,
        description = "Validate a pgbouncer.ini (and its auth_file); print the effective settings, warnings and errors. Exit 1 on errors.")
final class CheckCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "CONFIG.ini")
    Path config;

    @Override
    public Integer call() {
        PgloomConfig c;
        try {
            c = ConfigLoader.load(config);
            String auth = c.settings().string("auth_file");
            if (auth != null && !auth.isBlank()) {
                int n = UserList.load(c.resolve(auth)).size();
                System.out.println("auth_file " + c.resolve(auth) + ": " + n + " user(s)");
            }
        } catch (ConfigException e) {
            System.err.println("error: " + e.getMessage());
            return 1;
        }
        System.out.println("[databases]");
        for (DatabaseEntry d : c.databases()) {
            System.out.println("  " + d.name() + " -> " + String.join(",", d.hosts()) + ":" + d.port()
                    + "/" + (d.dbname() == null ? d.name() : d.dbname()) + "  (" + d.location() + ")");
        }
        System.out.println("[pgbouncer] effective settings (* = set in the file, ! = not supported by pgloom yet, ~ = no effect in pgloom)");
        for (Setting s : Settings.all()) {
            boolean explicit = c.settings().explicit().containsKey(s.name());
            System.out.printf("  %s%s %-28s = %s%n", explicit ? "*" : " ", s.supported() ? " " : s.accepted() ? "~" : "!", s.name(), c.settings().raw(s.name()));
        }
        c.warnings().forEach(w -> System.out.println("warning: " + w));
        System.out.println(c.warnings().isEmpty() ? "config OK" : "config OK with " + c.warnings().size() + " warning(s)");
        return 0;
    }
}
