package io.pgloom.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Real servers from the zonky binaries, checked over a raw socket. One shared trust instance
 * answers the read-only questions; lifecycle tests start their own.
 */
@Timeout(120)
class EmbeddedPostgresTest {

    private static EmbeddedPostgres shared;

    @BeforeAll
    static void startShared() throws IOException {
        shared = EmbeddedPostgres.builder()
                .hostAuthMethod("trust")
                .setting("max_connections", "300")
                .bootstrapSql(
                        "CREATE ROLE alice LOGIN PASSWORD 'a'",
                        "CREATE DATABASE alicedb OWNER alice;",
                        // Two statements in one command: one transaction, and a multi-line entry.
                        "CREATE TABLE greeting(t text);\nINSERT INTO greeting VALUES ('hello')",
                        """
                        CREATE FUNCTION twice(i int) RETURNS int LANGUAGE plpgsql AS $$
                        BEGIN
                          i := i * 2;

                          RETURN i;
                        END $$""")
                .start();
    }

    @AfterAll
    static void closeShared() {
        if (shared != null) {
            shared.close();
        }
    }

    @Test
    void trustAnswersStartupWithAuthenticationOkAndRunsQueries() throws IOException {
        try (WireProbe probe = WireProbe.startup(shared.host(), shared.port(), "postgres", "postgres")) {
            assertEquals(WireProbe.AUTH_OK, probe.authenticationRequest().int32(0));
            probe.awaitReady();
            assertEquals(List.of(List.of("postgres")), probe.query("SELECT current_user"));
        }
    }

    @Test
    void bootstrapSqlCreatedRolesDatabasesTablesAndFunctions() throws IOException {
        try (WireProbe probe = WireProbe.startup(shared.host(), shared.port(), "alice", "alicedb")) {
            assertEquals(WireProbe.AUTH_OK, probe.authenticationRequest().int32(0));
            probe.awaitReady();
            assertEquals(List.of(List.of("alice", "alicedb")), probe.query("SELECT current_user, current_database()"));
        }
        try (WireProbe probe = WireProbe.startup(shared.host(), shared.port(), "postgres", "postgres")) {
            probe.authenticationRequest();
            probe.awaitReady();
            assertEquals(List.of(List.of("hello", "42")), probe.query("SELECT t, twice(21) FROM greeting"));
        }
    }

    @Test
    void settingsAndDefaultsReachTheServer() throws IOException {
        try (WireProbe probe = WireProbe.startup(shared.host(), shared.port(), "postgres", "postgres")) {
            probe.authenticationRequest();
            probe.awaitReady();
            assertEquals(List.of(List.of("300", "off", "off")), probe.query(
                    "SELECT current_setting('max_connections'), current_setting('fsync'),"
                            + " current_setting('synchronous_commit')"));
            assertEquals(List.of(List.of(shared.dataDirectory().toString())),
                    probe.query("SHOW unix_socket_directories"));
        }
    }

    @Test
    void accessorsDescribeTheRunningServer() throws IOException {
        assertEquals("127.0.0.1", shared.host());
        assertEquals("postgres", shared.superuser());
        assertEquals("postgres", shared.superuserPassword());
        assertEquals("jdbc:postgresql://127.0.0.1:" + shared.port() + "/app", shared.jdbcUrl("app"));
        assertTrue(shared.isRunning());
        assertTrue(Files.readString(shared.logFile()).contains("database system is ready to accept connections"));
        assertEquals(Long.toString(shared.pid()),
                Files.readAllLines(shared.dataDirectory().resolve("postmaster.pid")).getFirst());
        assertEquals(shared.dataDirectory(), shared.socketDirectory().orElseThrow());
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(shared.dataDirectory())));
        if (PostgresAccount.isRoot()) {
            assertNotEquals("root", Files.getOwner(shared.dataDirectory()).getName());
            assertNotEquals("root", ProcessHandle.of(shared.pid()).orElseThrow().info().user().orElseThrow());
        }
    }

    @Test
    void scramIsTheDefaultAndHbaLinesComeFirst() throws IOException {
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder()
                .hbaLines(List.of("host all alice 127.0.0.1/32 trust"))
                .bootstrapSql("CREATE ROLE alice LOGIN")
                .start()) {
            try (WireProbe probe = WireProbe.startup(pg.host(), pg.port(), "postgres", "postgres")) {
                WireProbe.Message auth = probe.authenticationRequest();
                assertEquals(WireProbe.AUTH_SASL, auth.int32(0));
                assertTrue(auth.text().contains("SCRAM-SHA-256"), auth.text());
            }
            try (WireProbe probe = WireProbe.startup(pg.host(), pg.port(), "postgres", "postgres")) {
                probe.authenticate(pg.superuser(), pg.superuserPassword());
                probe.awaitReady();
                assertEquals(List.of(List.of("postgres")), probe.query("SELECT current_user"));
            }
            try (WireProbe probe = WireProbe.startup(pg.host(), pg.port(), "postgres", "postgres")) {
                IOException wrong = assertThrows(IOException.class, () -> probe.authenticate("postgres", "wrong"));
                assertTrue(wrong.getMessage().contains("28P01"), wrong.getMessage());
            }
            try (WireProbe probe = WireProbe.startup(pg.host(), pg.port(), "alice", "postgres")) {
                assertEquals(WireProbe.AUTH_OK, probe.authenticationRequest().int32(0));
                probe.awaitReady();
            }
        }
    }

    @Test
    void stopFreesThePortAndCloseDeletesTheTemporaryDirectory() throws IOException {
        EmbeddedPostgres pg = EmbeddedPostgres.builder().hostAuthMethod("trust").start();
        Path base = pg.dataDirectory().getParent();
        long pid = pg.pid();
        try (WireProbe idle = WireProbe.startup(pg.host(), pg.port(), "postgres", "postgres")) {
            idle.authenticationRequest();
            idle.awaitReady();
            pg.stop(); // fast shutdown must not wait for the idle session (smart shutdown would)
            List<WireProbe.Message> said = idle.readUntilClosed();
            assertTrue(said.stream().anyMatch(m -> m.type() == 'E' && m.text().contains("57P01")),
                    "FATAL admin_shutdown before the close");
        }
        assertFalse(pg.isRunning());
        assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false));
        assertNoListener(pg.port());
        assertFalse(Files.exists(pg.dataDirectory().resolve("postmaster.pid")), "clean shutdown removes it");
        pg.stop(); // again: nothing to do

        pg.close();
        assertFalse(Files.exists(base), base + " deleted");
        pg.close(); // idempotent
        assertThrows(IllegalStateException.class, pg::restart);
    }

    @Test
    void killLeavesACrashedServerThatRestartRecovers() throws IOException {
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder()
                .hostAuthMethod("trust")
                .bootstrapSql("CREATE ROLE bob LOGIN")
                .start()) {
            long oldPid = pg.pid();
            List<ProcessHandle> oldTree;
            try (WireProbe busy = WireProbe.startup(pg.host(), pg.port(), "postgres", "postgres")) {
                busy.authenticationRequest();
                busy.awaitReady();
                oldTree = ProcessHandle.of(oldPid).orElseThrow().descendants().toList();
                assertFalse(oldTree.isEmpty(), "backends and auxiliary processes");
                pg.kill();
                assertEquals(List.of(), busy.readUntilClosed(), "a killed server says nothing");
            }
            assertFalse(pg.isRunning());
            assertTrue(oldTree.stream().allMatch(EmbeddedPostgres::hasExited), "children killed too (zombies at most)");
            assertNoListener(pg.port());
            assertTrue(Files.exists(pg.dataDirectory().resolve("postmaster.pid")), "a crash leaves it behind");

            pg.restart();
            assertNotEquals(oldPid, pg.pid());
            try (WireProbe probe = WireProbe.startup(pg.host(), pg.port(), "bob", "postgres")) {
                assertEquals(WireProbe.AUTH_OK, probe.authenticationRequest().int32(0));
                probe.awaitReady();
                assertEquals(List.of(List.of("bob")), probe.query("SELECT current_user"));
            }
            assertTrue(Files.readString(pg.logFile()).contains("was interrupted"), "crash recovery ran");
        }
    }

    @Test
    void twoInstancesRunSideBySide() throws Exception {
        try (ExecutorService starter = Executors.newVirtualThreadPerTaskExecutor()) {
            Callable<EmbeddedPostgres> md5 = () -> EmbeddedPostgres.builder()
                    .hostAuthMethod("md5")
                    .superuser("admin")
                    .superuserPassword("s3cret")
                    .start();
            Callable<EmbeddedPostgres> scram = () -> EmbeddedPostgres.builder().start();
            Future<EmbeddedPostgres> first = starter.submit(md5);
            Future<EmbeddedPostgres> second = starter.submit(scram);
            try (EmbeddedPostgres a = first.get(); EmbeddedPostgres b = second.get()) {
                assertNotEquals(a.port(), b.port());
                assertNotEquals(a.dataDirectory(), b.dataDirectory());
                try (WireProbe probe = WireProbe.startup(a.host(), a.port(), "admin", "postgres")) {
                    assertEquals(WireProbe.AUTH_MD5, probe.authenticationRequest().int32(0));
                }
                try (WireProbe probe = WireProbe.startup(a.host(), a.port(), "admin", "postgres")) {
                    // md5 on the wire, so the superuser's password was stored as md5, not SCRAM
                    probe.authenticate("admin", "s3cret");
                    probe.awaitReady();
                    assertEquals(List.of(List.of("admin", "on")),
                            probe.query("SELECT current_user, current_setting('is_superuser')"));
                }
                try (WireProbe probe = WireProbe.startup(b.host(), b.port(), "postgres", "postgres")) {
                    assertEquals(WireProbe.AUTH_SASL, probe.authenticationRequest().int32(0));
                }
            }
        }
    }

    @Test
    void aFailingBootstrapStatementFailsStartWithTheServersMessage() {
        IOException e = assertThrows(IOException.class, () -> EmbeddedPostgres.builder()
                .bootstrapSql("CREATE ROLE fine", "SELECT no_such_function()")
                .start());
        assertTrue(e.getMessage().contains("no_such_function() does not exist"), e.getMessage());
    }

    @Test
    void aDataDirectoryOfOurOwnIsKeptAndReused() throws IOException {
        Path parent = Files.createTempDirectory("pgloom-embedded-test-");
        // Under root the server's account must be able to walk in; a 0700 temp directory says no.
        Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwx--x--x"));
        Path data = parent.resolve("data");
        try {
            try (EmbeddedPostgres first = EmbeddedPostgres.builder()
                    .hostAuthMethod("trust")
                    .dataDirectory(data)
                    .bootstrapSql("CREATE ROLE carol LOGIN")
                    .start()) {
                assertEquals(data, first.dataDirectory());
                assertEquals(parent.resolve("data.log"), first.logFile());
            }
            assertTrue(Files.exists(data.resolve("PG_VERSION")), "kept on close");

            try (EmbeddedPostgres again = EmbeddedPostgres.builder()
                    .dataDirectory(data)
                    .setting("max_connections", "50")
                    .start();
                    WireProbe probe = WireProbe.startup(again.host(), again.port(), "carol", "postgres")) {
                // The reused directory keeps its own pg_hba.conf (trust), whatever the builder says.
                assertEquals(WireProbe.AUTH_OK, probe.authenticationRequest().int32(0));
                probe.awaitReady();
                assertEquals(List.of(List.of("50")), probe.query("SHOW max_connections"));
            }
        } finally {
            PostgresBinaries.deleteTree(parent);
        }
    }

    @Test
    void aCopiedStoppedPrimaryStartsAsAStandby() throws IOException {
        Path parent = Files.createTempDirectory("pgloom-embedded-replica-");
        Files.setPosixFilePermissions(parent, PosixFilePermissions.fromString("rwx--x--x"));
        try (EmbeddedPostgres primary = EmbeddedPostgres.builder().hostAuthMethod("trust").start()) {
            // No pg_basebackup in the zonky binaries: copy the cleanly stopped primary, as root.
            primary.stop();
            Path copy = parent.resolve("replica");
            try (var paths = Files.walk(primary.dataDirectory())) {
                for (Path from : paths.toList()) {
                    Files.copy(from, copy.resolve(primary.dataDirectory().relativize(from).toString()));
                }
            }
            Files.createFile(copy.resolve("standby.signal"));
            primary.restart();
            try (EmbeddedPostgres replica = EmbeddedPostgres.builder()
                    .dataDirectory(copy)
                    .setting("primary_conninfo", "host=127.0.0.1 port=" + primary.port() + " user=postgres")
                    .start();
                    WireProbe probe = WireProbe.startup(replica.host(), replica.port(), "postgres", "postgres")) {
                assertNotEquals(primary.port(), replica.port());
                probe.authenticationRequest();
                probe.awaitReady();
                assertEquals(List.of(List.of("t")), probe.query("SELECT pg_is_in_recovery()"));
            }
        } finally {
            PostgresBinaries.deleteTree(parent);
        }
    }

    @Test
    void aRootOwnedPrivateParentIsRefusedWithAClearMessage() throws IOException {
        if (!PostgresAccount.isRoot()) {
            return; // only root runs the server as another account
        }
        Path parent = Files.createTempDirectory("pgloom-embedded-private-"); // 0700, root's
        try {
            IOException e = assertThrows(IOException.class, () -> EmbeddedPostgres.builder()
                    .dataDirectory(parent.resolve("data"))
                    .start());
            assertTrue(e.getMessage().contains("cannot enter " + parent), e.getMessage());
        } finally {
            PostgresBinaries.deleteTree(parent);
        }
    }

    @Test
    void underRunuserTheSignalsStillReachThePostmaster() throws IOException {
        if (!PostgresAccount.isRoot() || PostgresAccount.onPath("runuser").isEmpty()) {
            return; // the fallback launcher exists only for root
        }
        try (EmbeddedPostgres pg = EmbeddedPostgres.builder()
                .account(PostgresAccount.viaRunuser())
                .hostAuthMethod("trust")
                .start()) {
            ProcessHandle postmaster = ProcessHandle.of(pg.pid()).orElseThrow();
            assertTrue(postmaster.parent().flatMap(p -> p.info().command()).orElse("").endsWith("runuser"),
                    "runuser forks: the postmaster is its child");
            long t0 = System.nanoTime();
            pg.kill();
            assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "runuser reaped its child promptly");
            assertFalse(postmaster.isAlive(), "not even a zombie");
            assertNoListener(pg.port());
            pg.restart();
            long pid = pg.pid();
            try (WireProbe idle = WireProbe.startup(pg.host(), pg.port(), "postgres", "postgres")) {
                idle.authenticationRequest();
                idle.awaitReady();
                pg.stop();
                assertTrue(idle.readUntilClosed().stream().anyMatch(m -> m.text().contains("57P01")),
                        "a fast shutdown, not runuser's SIGTERM");
            }
            assertTrue(ProcessHandle.of(pid).map(EmbeddedPostgres::hasExited).orElse(true));
        }
    }

    @Test
    void theShutdownHookStopsTheServerAndDeletesItsDirectory() throws Exception {
        ChildJvm child = ChildJvm.start();
        assertTrue(Files.isDirectory(child.base));
        assertTrue(Signals.interrupt(child.process.pid()), "Ctrl-C");
        assertTrue(child.process.waitFor(60, TimeUnit.SECONDS), "child JVM exits");
        assertTrue(ProcessHandle.of(child.postmasterPid).map(EmbeddedPostgres::hasExited).orElse(true));
        assertNoListener(child.port);
        assertFalse(Files.exists(child.base), child.base + " deleted");
    }

    @Test
    void aServerOrphanedByAKilledJvmIsReapedByTheNext() throws Exception {
        ChildJvm child = ChildJvm.start();
        child.process.destroyForcibly(); // SIGKILL: no shutdown hook
        assertTrue(child.process.waitFor(10, TimeUnit.SECONDS));
        ProcessHandle orphan = ProcessHandle.of(child.postmasterPid).orElseThrow();
        assertFalse(EmbeddedPostgres.hasExited(orphan), "the postmaster outlives its JVM");

        AbandonedInstances.reap(Path.of(System.getProperty("java.io.tmpdir")));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!EmbeddedPostgres.hasExited(orphan) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(EmbeddedPostgres.hasExited(orphan), "reaped");
        assertFalse(Files.exists(child.base), child.base + " deleted");
        assertTrue(Files.exists(shared.dataDirectory()), "a live JVM's instance is left alone");
    }

    @Test
    void singleUserCommandsEndInSemicolonAndABlankLine() {
        assertEquals("SELECT 1;\n\n", SingleUserMode.command("SELECT 1"));
        assertEquals("SELECT 1;\n\n", SingleUserMode.command("  SELECT 1 ;; \r\n"));
        assertEquals("BEGIN\n  x := 1;\n \n  y;\n \nEND;\n\n",
                SingleUserMode.command("BEGIN\n  x := 1;\n\n  y;\n\nEND"));
        assertEquals("SELECT 1,\n\n2;\n\n", SingleUserMode.command("SELECT 1,\n\n2"),
                "only a blank line after a semicolon would end the command");
    }

    private static void assertNoListener(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 1_000);
            throw new AssertionError("something still listens on port " + port);
        } catch (ConnectException expected) {
            // refused: nobody listens
        } catch (IOException e) {
            throw new AssertionError("unexpected " + e, e);
        }
    }
}
