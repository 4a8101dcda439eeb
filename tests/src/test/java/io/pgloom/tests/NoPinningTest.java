package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;

/** A load run through pgloom must not pin a single virtual thread to its carrier (JFR's record). */
class NoPinningTest {

    @Test
    void loadRunRecordsNoVirtualThreadPinnedEvent() throws Exception {
        Path jfr = Files.createTempFile("pgloom-pinning-", ".jfr");
        try (Pgloom p = Pgloom.start("transaction", "default_pool_size = 4\n")) {
            // A first round loads the classes of both sides (class loading may pin; it happens once),
            // then the recorded round shows pgloom's steady state.
            runLoad(p, 4, 20);
            try (Recording rec = new Recording()) {
                rec.enable("jdk.VirtualThreadPinned").withThreshold(Duration.ZERO).withStackTrace();
                rec.start();
                runLoad(p, 16, 150);
                rec.stop();
                rec.dump(jfr);
            }
            List<RecordedEvent> pinned = RecordingFile.readAllEvents(jfr).stream()
                    .filter(e -> e.getEventType().getName().equals("jdk.VirtualThreadPinned"))
                    .filter(e -> !isClassInitialization(e)).toList();
            assertTrue(pinned.isEmpty(), () -> "pinned virtual threads: " + pinned);
        } finally {
            Files.deleteIfExists(jfr);
        }
    }

    /**
     * A virtual thread that waits while another thread initializes a class stays on its carrier:
     * JDK 25 cannot unmount there. It happens once per class and JVM (the recording itself makes the
     * JDK initialize classes such as its exception tracer), so it is no steady-state pinning.
     */
    private static boolean isClassInitialization(RecordedEvent e) {
        String reason = e.hasField("pinnedReason") ? e.getString("pinnedReason") : null;
        return reason != null && reason.startsWith("Waited for initialization of ");
    }

    /** Clients run on platform threads, so every virtual thread in the recording is pgloom's. */
    private static void runLoad(Pgloom p, int clients, int queries) throws Exception {
        try (var pool = Executors.newFixedThreadPool(clients)) {
            List<Future<Integer>> done = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                done.add(pool.submit(() -> {
                    int ok = 0;
                    // Named server-side statements from the first use: the load goes through pgloom's
                    // prepared-statement tracking (max_prepared_statements) and its locks too.
                    Properties named = new Properties();
                    named.setProperty("prepareThreshold", "1");
                    try (Connection c = p.connect(named); PreparedStatement ps = c.prepareStatement("SELECT ?::int + 1")) {
                        for (int q = 0; q < queries; q++) {
                            ps.setInt(1, q);
                            try (ResultSet rs = ps.executeQuery()) {
                                rs.next();
                                if (rs.getInt(1) == q + 1) {
                                    ok++;
                                }
                            }
                        }
                    }
                    return ok;
                }));
            }
            for (Future<Integer> f : done) {
                assertEquals(queries, f.get(120, TimeUnit.SECONDS));
            }
        }
    }
}
