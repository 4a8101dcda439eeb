package io.pgloom.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** How a temporary directory's owner is told apart from a process that took its pid later. */
class AbandonedInstancesTest {

    private static final long ME = ProcessHandle.current().pid();

    @Test
    void onLinuxTheOwnerIsMarkedByItsStartInClockTicksSinceBoot() throws Exception {
        assumeTrue(Files.isReadable(Path.of("/proc/self/stat")), "no /proc/self/stat here (not Linux): the epoch form is used");
        String stat = Files.readString(Path.of("/proc", Long.toString(ME), "stat"), StandardCharsets.US_ASCII);
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        assertEquals("ticks:" + fields[19], AbandonedInstances.startMark(ME),
                "starttime, field 22 of proc(5): the wall clock cannot move it");
        assertTrue(AbandonedInstances.isAlive(ME, AbandonedInstances.startMark(ME)), "this JVM owns its own mark");
        long ticks = Long.parseLong(fields[19]);
        assertFalse(AbandonedInstances.isAlive(ME, "ticks:" + (ticks - 1)),
                "one tick earlier is another process that had this pid");
    }

    @Test
    void aMarkInEpochMillisecondsFromAnOlderPgloomStillCounts() {
        long started = ProcessHandle.current().info().startInstant().map(Instant::toEpochMilli).orElseThrow();
        assertTrue(AbandonedInstances.isAlive(ME, Long.toString(started)));
        assertTrue(AbandonedInstances.isAlive(ME, "0"), "unknown start: assume the owner");
        assertFalse(AbandonedInstances.isAlive(ME, Long.toString(started - TimeUnit.HOURS.toMillis(1))),
                "an hour apart: a reused pid");
    }

    @Test
    void aProcessThatHasExitedOwnsNothing() throws Exception {
        Process p = new ProcessBuilder("true").start();
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        assertFalse(AbandonedInstances.isAlive(p.pid(), "ticks:1"));
        assertFalse(AbandonedInstances.isAlive(p.pid(), "0"));
    }
}
