package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The {@code ./pgloom} launcher script itself: the JVM accepts its memory flags, and
 * PGLOOM_JAVA_OPTS, which comes after them, overrides them.
 */
class LauncherTest {

    /** Runs {@code ./pgloom --version} with {@code javaOpts}; returns stdout and stderr together. */
    private static String runVersion(String javaOpts) throws Exception {
        // The launcher rebuilds a stale jar with Maven; a test must not, so it needs the packaged jar.
        Assumptions.assumeTrue(PgloomProcess.packagedJarIsCurrent(),
                "skipped: server/target/pgloom.jar is missing or older than the classes (run mvn verify)");
        Path launcher = PgloomProcess.repoRoot().resolve("pgloom");
        ProcessBuilder pb = new ProcessBuilder(launcher.toString(), "--version").redirectErrorStream(true);
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        pb.environment().put("PGLOOM_JAVA_OPTS", javaOpts);
        Process p = pb.start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "launcher did not exit:\n" + out);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("pgloom "), out);
        return out;
    }

    @Test
    void memoryFlagsReachTheJvm() throws Exception {
        String out = runVersion("-XX:+PrintCommandLineFlags");
        for (String flag : new String[] {"-XX:+UseSerialGC", "-XX:NewSize=8388608", "-XX:MaxNewSize=8388608",
                "-XX:+UseCompactObjectHeaders", "-XX:TrimNativeHeapInterval=2000", "-XX:ThreadStackSize=512"}) {
            assertTrue(out.contains(flag), flag + " missing:\n" + out);
        }
    }

    @Test
    void pgloomJavaOptsOverrideTheLaunchersFlags() throws Exception {
        String out = runVersion("-XX:+PrintCommandLineFlags -Xmn64m -Xmx512m");
        assertTrue(out.contains("-XX:NewSize=67108864") && out.contains("-XX:MaxHeapSize=536870912"), out);
    }
}
