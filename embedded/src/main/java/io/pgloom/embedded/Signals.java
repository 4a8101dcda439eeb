package io.pgloom.embedded;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Sends the signals Java cannot: {@link ProcessHandle} knows only SIGTERM and SIGKILL, while a
 * postmaster's fast shutdown is SIGINT and freezing a process tree is SIGSTOP/SIGCONT. The shell's
 * built-in {@code kill} does it, without depending on procps's {@code /bin/kill} (absent from
 * slim images) or on native access.
 */
final class Signals {

    private Signals() {}

    /** SIGINT to {@code pid}; false when it is not running or the signal could not be sent. */
    static boolean interrupt(long pid) {
        if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            return false;
        }
        return send("INT", List.of(pid));
    }

    /** SIGSTOP to each of {@code pids}; false if any could not be stopped (e.g. already gone). */
    static boolean stop(List<Long> pids) {
        return pids.isEmpty() || send("STOP", pids);
    }

    /** SIGCONT to {@code pid}. */
    static boolean resume(long pid) {
        return send("CONT", List.of(pid));
    }

    private static boolean send(String signal, List<Long> pids) {
        // Only numbers reach the shell: nothing to quote.
        String targets = pids.stream().map(String::valueOf).collect(Collectors.joining(" "));
        try {
            Process kill = new ProcessBuilder("/bin/sh", "-c", "kill -s " + signal + " " + targets)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            kill.getOutputStream().close();
            if (!kill.waitFor(10, TimeUnit.SECONDS)) {
                kill.destroyForcibly();
                return false;
            }
            return kill.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
