package io.pgloom.embedded;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/**
 * A second JVM that starts an instance and waits, to see what becomes of the server when that
 * JVM exits (shutdown hook) or is SIGKILLed (orphan). Its {@link #main} is the child's side.
 */
final class ChildJvm {

    final Process process;
    final int port;
    final long postmasterPid;
    final Path base;

    private ChildJvm(Process process, int port, long postmasterPid, Path base) {
        this.process = process;
        this.port = port;
        this.postmasterPid = postmasterPid;
        this.base = base;
    }

    /** Starts the child and returns once its server is ready. */
    static ChildJvm start() throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process process = new ProcessBuilder(List.of(java.toString(), "--enable-preview",
                "-cp", System.getProperty("java.class.path"), ChildJvm.class.getName()))
                .redirectErrorStream(true)
                .start();
        process.getOutputStream().close();
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        StringBuilder seen = new StringBuilder();
        String line;
        while ((line = out.readLine()) != null) {
            if (line.startsWith("READY ")) {
                String[] f = line.split(" ");
                // Keep draining, or the child blocks on a full pipe when it logs its shutdown.
                Thread.ofVirtual().start(() -> out.lines().forEach(l -> { }));
                return new ChildJvm(process, Integer.parseInt(f[1]), Long.parseLong(f[2]), Path.of(f[3]));
            }
            seen.append(line).append('\n');
        }
        throw new IOException("child JVM ended without starting PostgreSQL:\n" + seen);
    }

    public static void main(String[] args) throws Exception {
        EmbeddedPostgres pg = EmbeddedPostgres.builder().hostAuthMethod("trust").start();
        System.out.println("READY " + pg.port() + " " + pg.pid() + " " + pg.dataDirectory().getParent());
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE); // until a signal; the pg is never closed here, on purpose
    }
}
