package io.pgloom.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every thread pgloom starts lives in a scope: only the two scope classes may create threads (with
 * the factory {@code VirtualThreads} holds), and the command line may hand the JVM its shutdown
 * hooks (which must be unstarted threads). A new
 * {@code Thread.ofVirtual().start(...)} anywhere else fails here, naming the file and line.
 */
class ThreadsInScopesTest {
    private static final Pattern STARTS_A_THREAD =
            Pattern.compile("Thread\\.of(Virtual|Platform)\\(|new Thread\\(|Executors\\.new|startVirtualThread\\(");
    /**
     * The files allowed to: the scopes themselves, the factory they make their threads with, the
     * carriers (the platform threads that run those virtual threads: the scheduler, not tasks),
     * and the off-carrier runner, whose one thread the caller joins before it returns.
     */
    private static final List<String> ALLOWED = List.of("TaskScope.java", "DeadlineScope.java", "VirtualThreads.java",
            "Carrier.java", "OffCarrier.java");

    @Test
    void onlyTheScopeClassesAndShutdownHooksCreateThreads() throws IOException {
        Path sources = Path.of("src/main/java");
        assertTrue(Files.isDirectory(sources), "run from the server module: " + sources.toAbsolutePath());
        List<String> offenders = new ArrayList<>();
        try (Stream<Path> files = Files.walk(sources)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                if (ALLOWED.contains(f.getFileName().toString())) {
                    continue;
                }
                List<String> lines = Files.readAllLines(f);
                for (int i = 0; i < lines.size(); i++) {
                    String line = lines.get(i);
                    if (STARTS_A_THREAD.matcher(line).find() && !line.contains("addShutdownHook(")) {
                        offenders.add(sources.relativize(f) + ":" + (i + 1) + ": " + line.strip());
                    }
                }
            }
        }
        assertEquals(List.of(), offenders, "threads started outside a TaskScope or DeadlineScope");
    }
}
