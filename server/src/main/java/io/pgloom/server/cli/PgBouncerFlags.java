package io.pgloom.server.cli;

import com.sun.security.auth.module.UnixSystem;
import io.pgloom.config.ConfigException;
import io.pgloom.config.ConfigLoader;
import io.pgloom.config.PgloomConfig;
import io.pgloom.server.PgloomServer;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * PgBouncer's own command-line flags, on {@code pgloom CONFIG.ini} and {@code pgloom run}, so a
 * unit file or init script written for {@code pgbouncer} runs pgloom unchanged.
 *
 * <p>{@code -d} and {@code -u} start pgloom again as a child process (the JVM cannot fork, nor
 * change its user): {@link #before} decides whether this process serves or hands over.
 */
final class PgBouncerFlags {
    /** How long {@code -d} waits for the daemon to listen before it gives up and says why. */
    private static final Duration DAEMON_START = Duration.ofSeconds(60);
    /** Lines of the daemon's logfile shown when it failed to start. */
    private static final int LOG_TAIL = 20;

    @Option(names = {"-d", "--daemon"}, description = "Run in the background; needs logfile in the config")
    boolean daemon;

    @Option(names = {"-R", "--reboot"}, description = "Online restart: not supported, refused")
    boolean reboot;

    @Option(names = {"-q", "--quiet"}, description = "No logging to stderr (the logfile still gets everything)")
    boolean quiet;

    @Option(names = {"-v", "--verbose"}, description = "More logging; twice for trace (as the verbose setting)")
    boolean[] verbose = new boolean[0];

    @Option(names = {"-u", "--user"}, paramLabel = "USER", description = "Run as this OS user (pgloom started as root)")
    String user;

    /**
     * Applies the flags for {@code config}: null when this process goes on to serve, otherwise the
     * exit status (a refusal, or the status of the child that took over).
     *
     * @param runOptions options of {@code pgloom run} besides these flags, for a child process
     */
    Integer before(Path config, List<String> runOptions) throws IOException, InterruptedException {
        if (reboot) {
            System.err.println("pgloom: -R (online restart) is not supported: pgloom cannot take over a running"
                    + " process's sockets; use so_reuseport rolling restarts (README: \"Rolling restarts with so_reuseport\")");
            return 1;
        }
        if (user != null) {
            Integer switched = switchUser(config, runOptions);
            if (switched != null) {
                return switched;
            }
        }
        if (daemon) {
            return detach(config, runOptions);
        }
        PgloomServer.commandLineLogging(quiet, verbose.length);
        return null;
    }

    // ------------------------------------------------------------------------------------- -u

    /** Null when this process already runs as {@link #user}; otherwise the status of a refusal or of the child. */
    private Integer switchUser(Path config, List<String> runOptions) throws IOException, InterruptedException {
        String me = System.getProperty("user.name");
        boolean root = new UnixSystem().getUid() == 0;
        if (user.equals(me)) {
            return null;
        }
        if (!root) {
            System.err.println("pgloom: -u " + user + ": pgloom runs as " + me + ", and only root can switch to another user");
            return 1;
        }
        String group = output(List.of("id", "-g", user));
        if (group == null) {
            System.err.println("pgloom: -u " + user + ": no such user");
            return 1;
        }
        // The user's primary group by number: a group need not share the user's name (nobody's is nogroup).
        List<String> asUser = List.of("setpriv", "--reuid=" + user, "--regid=" + group, "--init-groups", "--");
        int readable = run(concat(asUser, List.of("test", "-r", config.toString())));
        if (readable > 1) {
            System.err.println("pgloom: -u " + user + ": could not run setpriv (util-linux) to switch to " + user
                    + " (status " + readable + ")");
            return 1;
        }
        if (readable == 1) {
            System.err.println("pgloom: -u " + user + ": user " + user + " cannot read " + config
                    + " (check the permissions of the file and of each directory above it)");
            return 1;
        }
        // Its own session: Ctrl-C reaches only this process, which passes it on once.
        List<String> command = concat(List.of("setsid"), concat(asUser, childCommand(config, runOptions, daemon, quiet)));
        Process child = new ProcessBuilder(command).inheritIO().start();
        for (String name : List.of("HUP", "INT", "TERM", "QUIT", "USR1", "USR2")) {
            try {
                Signal.handle(new Signal(name), s -> forward(name, child.pid()));
            } catch (IllegalArgumentException jvmOwnsIt) {
                // without -Xrs the JVM keeps QUIT (thread dumps) and USR2 for itself
            }
        }
        return child.waitFor();
    }

    private static void forward(String signal, long pid) {
        try {
            if (run(List.of("/bin/sh", "-c", "kill -s " + signal + " " + pid)) != 0) {
                System.err.println("pgloom: could not pass SIG" + signal + " on to " + pid);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------------------------- -d

    /**
     * Starts the daemon, waits until it listens, and returns 0; or 1 with the reason when the
     * config has no logfile (where else would a daemon log) or the daemon failed to start.
     */
    private Integer detach(Path config, List<String> runOptions) throws IOException, InterruptedException {
        PgloomConfig loaded;
        try {
            loaded = ConfigLoader.load(config);
        } catch (ConfigException e) {
            System.err.println("pgloom: " + e.getMessage());
            return 1;
        }
        String logfile = loaded.settings().string("logfile");
        if (logfile == null || logfile.isBlank()) {
            System.err.println("pgloom: -d needs logfile set in " + config + ": a daemon has no terminal to log to");
            return 1;
        }
        Path log = loaded.resolve(logfile);
        long logStart = Files.exists(log) ? Files.size(log) : 0;
        List<String> command = new ArrayList<>(childCommand(config, runOptions, false, true));
        if (new File("/usr/bin/setsid").canExecute() || new File("/bin/setsid").canExecute()) {
            // A session of its own: the daemon outlives the terminal that started it (no SIGHUP).
            command.addFirst("setsid");
        }
        File devNull = new File("/dev/null");
        Process child = new ProcessBuilder(command)
                .redirectInput(devNull)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        long end = System.nanoTime() + DAEMON_START.toNanos();
        while (!newLogText(log, logStart).contains("pgloom running with")) {
            if (!child.isAlive()) {
                System.err.println("pgloom: the daemon exited with status " + child.exitValue() + " before it listened;"
                        + " the end of " + log + ":\n" + tail(newLogText(log, logStart)));
                return 1;
            }
            if (System.nanoTime() > end) {
                child.destroy();
                System.err.println("pgloom: the daemon did not start listening within " + DAEMON_START.toSeconds()
                        + " s, stopped it; the end of " + log + ":\n" + tail(newLogText(log, logStart)));
                return 1;
            }
            Thread.sleep(50);
        }
        return 0;
    }

    private static String newLogText(Path log, long from) throws IOException {
        if (!Files.exists(log)) {
            return "";
        }
        byte[] all = Files.readAllBytes(log);
        return from >= all.length ? "" : new String(all, (int) from, all.length - (int) from);
    }

    private static String tail(String text) {
        List<String> lines = text.lines().toList();
        return String.join("\n", lines.subList(Math.max(0, lines.size() - LOG_TAIL), lines.size()));
    }

    // ---------------------------------------------------------------------------------- child

    /**
     * This JVM's own command line (java, its options, {@code -jar} or the main class) followed by
     * {@code run}, the options and the flags that still apply in the child.
     */
    private List<String> childCommand(Path config, List<String> runOptions, boolean childDaemon, boolean childQuiet) {
        String[] programArgs = PgloomCommand.programArgs;
        ProcessHandle.Info self = ProcessHandle.current().info();
        String[] all = self.arguments().orElse(null);
        if (programArgs == null || all == null || self.command().isEmpty() || all.length < programArgs.length) {
            throw new IllegalStateException("cannot tell how this JVM was started, to start pgloom again");
        }
        List<String> command = new ArrayList<>();
        command.add(self.command().get());
        command.addAll(Arrays.asList(all).subList(0, all.length - programArgs.length));
        command.add("run");
        command.addAll(runOptions);
        if (childDaemon) {
            command.add("-d");
        }
        if (childQuiet) {
            command.add("-q");
        }
        for (int i = 0; i < verbose.length; i++) {
            command.add("-v");
        }
        command.add(config.toAbsolutePath().toString());
        return command;
    }

    private static int run(List<String> command) throws InterruptedException {
        try {
            return new ProcessBuilder(command)
                    .redirectInput(new File("/dev/null"))
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start().waitFor();
        } catch (IOException notInstalled) {
            return 127;
        }
    }

    /** The command's stdout, trimmed; null when it fails. */
    private static String output(List<String> command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command)
                .redirectInput(new File("/dev/null"))
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        return p.waitFor() == 0 ? out : null;
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> both = new ArrayList<>(a);
        both.addAll(b);
        return both;
    }
}
