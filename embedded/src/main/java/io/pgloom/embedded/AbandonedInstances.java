package io.pgloom.embedded;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Temporary instances whose JVM died without running its shutdown hook.
 *
 * <p>A SIGKILLed JVM (a surefire fork past its timeout, {@code kill -9} on {@code pgloom demo})
 * cannot stop its servers, and there is no cheap portable way to make a child die with its
 * parent ({@code PR_SET_PDEATHSIG} fires when the <em>thread</em> that forked exits, which
 * carrier and pool threads routinely do). So each temporary directory records the JVM that
 * made it, and the first instance a later JVM starts removes the directories of owners that are
 * gone, SIGKILLing a postmaster still running there. Even unreaped, such a postmaster stops on
 * its own within about a minute once its directory is deleted: it rechecks its
 * {@code postmaster.pid} and shuts down when the file has gone.
 */
final class AbandonedInstances {

    static final String PREFIX = "pgloom-pg-";
    private static final String OWNER_FILE = "owner";
    private static final String TICKS = "ticks:";
    /** starttime's place in {@code /proc/PID/stat} (proc(5)), counting from 1. */
    private static final int STARTTIME_FIELD = 22;
    /** Start times are computed from clock ticks; two JVMs may round them differently. */
    private static final long START_TOLERANCE_MILLIS = 2_000;

    private static final Logger log = LoggerFactory.getLogger(AbandonedInstances.class);
    private static final AtomicBoolean reaped = new AtomicBoolean();

    private AbandonedInstances() {}

    /** A new temporary directory, marked as this JVM's. */
    static Path createTempBase(Path tmp) throws IOException {
        Path base = Files.createTempDirectory(tmp, PREFIX);
        long me = ProcessHandle.current().pid();
        Files.writeString(base.resolve(OWNER_FILE), me + " " + startMark(me) + " " + pidNamespace() + "\n",
                StandardCharsets.UTF_8);
        return base;
    }

    /**
     * When process {@code pid} started, to tell it from a later process given the same pid:
     * {@code ticks:N}, the clock ticks since boot of {@code /proc/PID/stat}, where there is one;
     * else the start as epoch milliseconds ("0" when unknown). The ticks never move; the epoch
     * time the JDK derives from them does: it adds the boot time, which the kernel computes from
     * the wall clock, and a machine whose clock is stepped (NTP, a virtual machine resumed from a
     * snapshot) then reports another start for the same process. Read that way, a live JVM once
     * looked gone and its PostgreSQL was killed under its tests.
     */
    static String startMark(long pid) {
        OptionalLong ticks = startTicks(pid);
        if (ticks.isPresent()) {
            return TICKS + ticks.getAsLong();
        }
        return Long.toString(ProcessHandle.of(pid).flatMap(p -> p.info().startInstant())
                .map(Instant::toEpochMilli).orElse(0L));
    }

    /** Field 22 of {@code /proc/PID/stat}, counted after the parenthesised command name (which may hold spaces). */
    private static OptionalLong startTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.US_ASCII);
            String[] after = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return OptionalLong.of(Long.parseLong(after[STARTTIME_FIELD - 3]));
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /** Reaps abandoned directories in {@code tmp}, the first time it is called in this JVM. */
    static void reapOnce(Path tmp) {
        if (reaped.compareAndSet(false, true)) {
            reap(tmp);
        }
    }

    /** Reaps abandoned directories in {@code tmp}; never fails. */
    static void reap(Path tmp) {
        try (DirectoryStream<Path> bases = Files.newDirectoryStream(tmp, PREFIX + "*")) {
            for (Path base : bases) {
                try {
                    reapIfAbandoned(base);
                } catch (IOException | RuntimeException e) {
                    log.debug("Could not clean up {}: {}", base, e.toString());
                }
            }
        } catch (IOException | RuntimeException e) {
            log.debug("Could not look for abandoned PostgreSQL directories in {}: {}", tmp, e.toString());
        }
    }

    private static void reapIfAbandoned(Path base) throws IOException {
        Path ownerFile = base.resolve(OWNER_FILE);
        if (!Files.isRegularFile(ownerFile)) {
            return; // not ours, or just being created
        }
        String[] owner = Files.readString(ownerFile, StandardCharsets.UTF_8).strip().split(" ");
        if (owner.length != 3 || !owner[2].equals(pidNamespace())) {
            return; // a container sharing our /tmp: its pids mean nothing here
        }
        long pid = Long.parseLong(owner[0]);
        if (isAlive(pid, owner[1])) {
            return;
        }
        for (Path data : dataDirectories(base)) {
            PostmasterPidFile.read(data)
                    .flatMap(f -> ProcessHandle.of(f.pid()))
                    .filter(p -> p.info().command().map(c -> c.endsWith("/postgres")).orElse(false))
                    .ifPresent(AbandonedInstances::killTree);
        }
        PostgresBinaries.deleteTree(base);
        log.info("Removed {}, left behind by JVM {} which is gone", base, pid);
    }

    /** Whether the JVM that wrote {@code mark} (see {@link #startMark}) as process {@code pid} still runs. */
    static boolean isAlive(long pid, String mark) {
        Optional<ProcessHandle> handle = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
        if (handle.isEmpty()) {
            return false;
        }
        if (mark.startsWith(TICKS)) {
            OptionalLong ticks = startTicks(pid);
            // Unreadable now (the process just exited): take it for the owner, as below.
            return ticks.isEmpty() || ticks.getAsLong() == Long.parseLong(mark.substring(TICKS.length()));
        }
        // Written as epoch milliseconds (no /proc, or an older pgloom).
        long start = Long.parseLong(mark);
        Optional<Instant> started = handle.get().info().startInstant();
        if (start == 0 || started.isEmpty()) {
            return true; // cannot tell a reused pid from the owner: assume the owner
        }
        return Math.abs(started.get().toEpochMilli() - start) < START_TOLERANCE_MILLIS;
    }

    /** Which pid namespace this JVM lives in, e.g. {@code pid:[4026531836]}. */
    private static String pidNamespace() {
        try {
            return Files.readSymbolicLink(Path.of("/proc/self/ns/pid")).toString().replace(' ', '_');
        } catch (IOException | UnsupportedOperationException e) {
            return "unknown";
        }
    }

    private static List<Path> dataDirectories(Path base) throws IOException {
        List<Path> dirs = new ArrayList<>();
        try (DirectoryStream<Path> children = Files.newDirectoryStream(base, Files::isDirectory)) {
            children.forEach(dirs::add);
        }
        return dirs;
    }

    private static void killTree(ProcessHandle postmaster) {
        List<ProcessHandle> children = postmaster.descendants().toList();
        postmaster.destroyForcibly();
        children.forEach(ProcessHandle::destroyForcibly);
        log.warn("Killed orphaned postmaster {} whose JVM is gone", postmaster.pid());
    }
}
