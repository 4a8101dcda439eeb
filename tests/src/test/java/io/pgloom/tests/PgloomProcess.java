package io.pgloom.tests;

import io.pgloom.embedded.EmbeddedPostgres;
import io.pgloom.server.cli.PgloomCommand;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * pgloom as an operating-system process, started as the {@code ./pgloom} launcher starts it:
 * {@code java --enable-preview -jar server/target/pgloom.jar ARGS}. The jar is used when the
 * reactor packaged it in this build ({@code mvn verify}: the server module is packaged before
 * this module's tests run); otherwise (a {@code mvn test} run, or a jar older than the classes)
 * the same main class runs from this test JVM's class path, so the process always runs the code
 * under test. Its stdout and stderr go to files under {@code target/processes/}, which
 * {@link #output()} adds to assertion messages.
 *
 * <p>Close it in a finally block or {@code @AfterEach}: {@link #close()} kills it and every
 * descendant it started (e.g. the demo's PostgreSQL).
 */
final class PgloomProcess implements AutoCloseable {
    private static final Duration POLL = Duration.ofMillis(50);

    final Process process;
    final List<String> command;
    final Path stdout;
    final Path stderr;
    /** Every descendant seen by {@link #descendants()}, so none is forgotten once it is gone from the tree. */
    private final Set<ProcessHandle> seenDescendants = new LinkedHashSet<>();

    private PgloomProcess(Process process, List<String> command, Path stdout, Path stderr) {
        this.process = process;
        this.command = command;
        this.stdout = stdout;
        this.stderr = stderr;
    }

    /** Starts {@code pgloom ARGS}; {@code name} names its output files. */
    static PgloomProcess start(String name, String... args) throws IOException {
        return startUnder(List.of(), name, args);
    }

    /** Starts {@code pgloom ARGS} through {@code wrapper} (e.g. setpriv, to run it as another user). */
    static PgloomProcess startUnder(List<String> wrapper, String name, String... args) throws IOException {
        return startProcess(wrapper, true, true, name, args);
    }

    /**
     * Starts {@code pgloom ARGS} from the class path without {@code --add-opens java.base/java.lang}:
     * a JVM that refuses pgloom the carrier scheduler hook, which must fall back to io_mode = jdk.
     */
    static PgloomProcess startWithoutCarrierHook(String name, String... args) throws IOException {
        return startProcess(List.of(), false, true, name, args);
    }

    /**
     * Starts {@code pgloom ARGS} from the class path with the scheduler hook but without
     * {@code --add-opens java.base/sun.nio.ch}: a JVM that refuses pgloom its sockets' descriptors,
     * which the carriers' epoll needs, so it must fall back to io_mode = jdk too.
     */
    static PgloomProcess startWithoutDescriptors(String name, String... args) throws IOException {
        return startProcess(List.of(), true, false, name, args);
    }

    private static PgloomProcess startProcess(List<String> wrapper, boolean carrierHook, boolean descriptors, String name,
            String... args) throws IOException {
        List<String> command = new ArrayList<>(wrapper);
        command.addAll(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-preview", "--enable-native-access=ALL-UNNAMED", "-XX:+StartAttachListener"));
        if (carrierHook) {
            command.addAll(List.of("--add-opens", "java.base/java.lang=ALL-UNNAMED"));
        }
        if (descriptors) {
            command.addAll(List.of("--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED"));
        }
        String ioMode = System.getProperty("pgloom.io_mode");
        if (ioMode != null) {
            command.add("-Dpgloom.io_mode=" + ioMode); // the I/O mode this test run is in
        }
        String ioThreads = System.getProperty("pgloom.io_threads");
        if (ioThreads != null) {
            command.add("-Dpgloom.io_threads=" + ioThreads); // and its carrier count
        }
        Path jar = repoRoot().resolve("server/target/pgloom.jar");
        if (carrierHook && descriptors && isFresh(jar, repoRoot().resolve("server/target/classes"))) {
            command.addAll(List.of("-jar", jar.toString()));
        } else {
            // (the jar's manifest opens java.lang and sun.nio.ch itself, so the starts without them use the class path)
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), PgloomCommand.class.getName()));
        }
        command.addAll(List.of(args));
        Path logs = moduleDir().resolve("target/processes");
        Files.createDirectories(logs);
        String stem = name + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("HHmmss-SSS"));
        Path out = logs.resolve(stem + ".out");
        Path err = logs.resolve(stem + ".err");
        ProcessBuilder builder = new ProcessBuilder(command)
                .redirectOutput(out.toFile())
                .redirectError(err.toFile());
        // As the ./pgloom launcher sets them: frees SIGUSR2 for RESUME, and (with StartAttachListener
        // above) SIGQUIT for immediate shutdown.
        builder.environment().put("_JAVA_SR_SIGNUM", "39");
        Process p = builder.start();
        p.getOutputStream().close();
        return new PgloomProcess(p, command, out, err);
    }

    /** The tests module's directory: surefire runs with it as working directory and sets basedir. */
    static Path moduleDir() {
        return Path.of(System.getProperty("basedir", "")).toAbsolutePath();
    }

    static Path repoRoot() {
        return moduleDir().getParent();
    }

    /** server/target/pgloom.jar exists and was packaged from the classes as they are now. */
    static boolean packagedJarIsCurrent() throws IOException {
        return isFresh(repoRoot().resolve("server/target/pgloom.jar"), repoRoot().resolve("server/target/classes"));
    }

    /** The jar was packaged from the classes as they are now (not left over from an older build). */
    private static boolean isFresh(Path jar, Path classes) throws IOException {
        if (!Files.isRegularFile(jar) || !Files.isDirectory(classes)) {
            return false;
        }
        long jarTime = Files.getLastModifiedTime(jar).toMillis();
        try (Stream<Path> files = Files.walk(classes)) {
            return files.filter(Files::isRegularFile).allMatch(f -> {
                try {
                    return Files.getLastModifiedTime(f).toMillis() <= jarTime;
                } catch (IOException e) {
                    return false;
                }
            });
        }
    }

    /** A port nobody listens on right now, for a {@code listen_port} that must be known in advance. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    long pid() {
        return process.pid();
    }

    /** The command, stdout and stderr so far: for assertion messages. */
    String output() {
        return "\n--- command: " + String.join(" ", command)
                + "\n--- stdout (" + stdout + "):\n" + read(stdout)
                + "\n--- stderr (" + stderr + "):\n" + read(stderr);
    }

    String stdoutText() {
        return read(stdout);
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }

    /**
     * Polls stdout and stderr until {@code pattern} matches either; returns the match. Fails with
     * the output when the process exits first or {@code deadline} passes.
     */
    Matcher await(Pattern pattern, Duration deadline) throws InterruptedException {
        long end = System.nanoTime() + deadline.toNanos();
        while (true) {
            for (Path file : List.of(stdout, stderr)) {
                Matcher m = pattern.matcher(read(file));
                if (m.find()) {
                    return m;
                }
            }
            if (!process.isAlive()) {
                throw new AssertionError("pgloom exited (code " + process.exitValue() + ") before printing /"
                        + pattern + "/" + output());
            }
            if (System.nanoTime() > end) {
                throw new AssertionError("pgloom did not print /" + pattern + "/ within " + deadline.toSeconds()
                        + " s" + output());
            }
            Thread.sleep(POLL);
        }
    }

    /** The live descendants now; each is also remembered for {@link #remainingDescendants}. */
    List<ProcessHandle> descendants() {
        List<ProcessHandle> now = process.descendants().toList();
        seenDescendants.addAll(now);
        return now;
    }

    /**
     * Descendants ever seen that still run after {@code deadline} of polling. A zombie counts as
     * gone: it holds nothing, and an orphan is reaped by pid 1 whenever that gets round to it.
     */
    List<ProcessHandle> remainingDescendants(Duration deadline) throws InterruptedException {
        long end = System.nanoTime() + deadline.toNanos();
        List<ProcessHandle> left;
        do {
            left = seenDescendants.stream().filter(h -> !EmbeddedPostgres.hasExited(h)).toList();
            if (left.isEmpty() || System.nanoTime() > end) {
                return left;
            }
            Thread.sleep(POLL);
        } while (true);
    }

    /**
     * Sends a signal by name (HUP, INT, TERM): Java's Process knows only TERM and KILL. The shell's
     * built-in kill, as procps's /bin/kill may be missing.
     */
    void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("/bin/sh", "-c", "kill -s " + name + " " + pid())
                .redirectErrorStream(true)
                .start();
        kill.getOutputStream().close();
        String said = new String(kill.getInputStream().readAllBytes());
        if (!kill.waitFor(30, TimeUnit.SECONDS) || kill.exitValue() != 0) {
            throw new AssertionError("kill -s " + name + " " + pid() + " failed: " + said + output());
        }
    }

    /**
     * Waits up to {@code deadline} for the process to exit and returns its exit code; fails with
     * the output if it is still running.
     */
    int awaitExit(Duration deadline) throws InterruptedException {
        if (!process.waitFor(deadline.toMillis(), TimeUnit.MILLISECONDS)) {
            throw new AssertionError("pgloom still runs " + deadline.toSeconds() + " s after the signal" + output());
        }
        return process.exitValue();
    }

    /** Kills the process and every descendant still running (SIGKILL); a no-op once it has exited. */
    @Override
    public void close() throws InterruptedException {
        descendants();
        process.destroyForcibly();
        seenDescendants.forEach(ProcessHandle::destroyForcibly);
        process.waitFor(30, TimeUnit.SECONDS);
    }
}
