package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** logfile gets what pgloom logs, and a reload after logrotate moved it starts a new file. */
class LogFileTest {

    @Test
    void logfileIsWrittenAndReopenedOnReload() throws Exception {
        Path dir = Files.createTempDirectory("pgloom-log-");
        Path log = dir.resolve("pgloom.log");
        try (Pgloom p = Pgloom.start("transaction", "logfile = " + log + "\n")) {
            try (RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
                c.simpleQuery("SELECT 1");
            }
            assertTrue(Files.readString(log).contains("alice@app from 127.0.0.1"), "the login is in the logfile");
            Path rotated = dir.resolve("pgloom.log.1");
            Files.move(log, rotated);
            assertTrue(p.server.reload());
            try (RawClient c = new RawClient(p.port()).login("bob", "bob-secret", "app")) {
                c.simpleQuery("SELECT 1");
            }
            assertTrue(Files.exists(log), "reload reopened logfile at its configured path");
            assertTrue(Files.readString(log).contains("bob@app"), "new lines go to the new file");
            assertTrue(!Files.readString(rotated).contains("bob@app"), "not to the rotated one");
        }
    }
}
