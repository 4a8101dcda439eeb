package io.pgloom.server.cli;

import io.pgloom.server.admin.AdminConsole;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** The {@code pgloom} command line. */
@Command(name = "pgloom",
        mixinStandardHelpOptions = true,
        versionProvider = PgloomCommand.Version.class,
        description = {
            "A PostgreSQL connection pooler that reads your pgbouncer.ini and userlist.txt unchanged.",
            "",
            "  pgloom [-d] [-q] [-v]... [-u USER] CONFIG.ini",
            "                             run the pooler (same as `pgloom run ... CONFIG.ini`)",
            "  pgloom demo                a real PostgreSQL plus pgloom on 127.0.0.1:6432, ready for psql",
            "  pgloom check CONFIG.ini    validate a config and print the effective settings",
            "  pgloom cert dev --out DIR  a development CA with server and client certificates for TLS",
            "  pgloom userlist add USER   add or replace a userlist.txt entry (SCRAM or md5)",
        },
        subcommands = {RunCommand.class, DemoCommand.class, CheckCommand.class, CertCommand.class, UserlistCommand.class,
                PostgresCommand.class,
                CommandLine.HelpCommand.class})
public final class PgloomCommand implements Callable<Integer> {
    /** The arguments main() was given: -d and -u start the same JVM again with other ones. */
    static volatile String[] programArgs;

    @Mixin
    PgBouncerFlags flags = new PgBouncerFlags();

    @Parameters(index = "0", arity = "0..1", paramLabel = "CONFIG.ini", description = "pgbouncer.ini to run with")
    Path config;

    @Override
    public Integer call() throws Exception {
        if (config == null) {
            CommandLine.usage(this, System.out);
            return 2;
        }
        RunCommand run = new RunCommand();
        run.config = config;
        run.flags = flags;
        return run.call();
    }

    public static void main(String[] args) {
        programArgs = args.clone();
        int code = new CommandLine(new PgloomCommand()).execute(args);
        if (code != 0 || !RunCommand.keepsRunning()) {
            System.exit(code);
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            // The first line is SHOW VERSION's, as PgBouncer's is: scripts compare the two.
            String v = PgloomCommand.class.getPackage().getImplementationVersion();
            return new String[] {AdminConsole.versionText(), "pgloom " + (v == null ? "development build" : v)
                    + " (Java " + Runtime.version() + ", PgBouncer 1.25-compatible configuration)"};
        }
    }
}
