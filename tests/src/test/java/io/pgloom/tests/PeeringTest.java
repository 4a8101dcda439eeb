package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.wire.protocol.MessageBuilder;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two pgloom processes on one port (so_reuseport = 1), peered as PgBouncer 1.25 peers: a cancel
 * that reaches the process its client is not connected to is forwarded to the right one, and the
 * admin console shows the peers. Each process is also reached on its own Unix socket, so a test
 * can pick the process a connection lands on instead of leaving it to the kernel.
 */
class PeeringTest {
    private static final String SLEEP = "SELECT pg_sleep(30)";

    @TempDir
    Path dir;
    private PeerGroup peers;
    private final List<PgloomProcess> processes = new ArrayList<>();

    @BeforeEach
    void startTwoPeers() throws Exception {
        peers = new PeerGroup(dir, 2, "");
        processes.add(peers.start(1));
        processes.add(peers.start(2));
    }

    @AfterEach
    void stopThem() throws Exception {
        peers.close();
    }

    /** The peer id a BackendKeyData pid carries: bytes 1 and 2, low byte first, as PgBouncer writes it. */
    private static int peerOf(int pid) {
        return ((pid >>> 16) & 0xFF) | (((pid >>> 8) & 0xFF) << 8);
    }

    private static byte[] cancelRequest(int pid, int secret) {
        return new MessageBuilder().int32(80877102).int32(pid).int32(secret).build();
    }

    /** Sends a CancelRequest to the process behind {@code socket} and waits until it closes the connection. */
    private static void sendCancel(Path socket, int pid, int secret) throws Exception {
        try (RawClient cancel = new RawClient(socket)) {
            cancel.send(cancelRequest(pid, secret));
            assertTrue(cancel.closedByPeer(), "the peer closes the cancel connection");
        }
    }

    /** Waits until PostgreSQL runs {@code sql} for some backend: only then can a cancel reach it. */
    private static void awaitRunning(String sql) throws Exception {
        long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (true) {
            try (Connection c = TestPostgres.direct("app"); Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = '"
                            + sql.replace("'", "''") + "'")) {
                rs.next();
                if (rs.getInt(1) > 0) {
                    return;
                }
            }
            assertTrue(System.nanoTime() < end, sql + " never started");
            Thread.sleep(20);
        }
    }

    @Test
    void aCancelSentToTheOtherProcessIsForwardedToTheClientsOwn() throws Exception {
        try (RawClient client = new RawClient(peers.socket(1)).login("alice", "alice-secret", "app")) {
            assertEquals(1, peerOf(client.backendPid), "peer 1's keys carry its peer_id");
            assertEquals(3, client.backendSecret & 3, "a fresh key's TTL is 3");
            client.send(RawClient.query(SLEEP));
            awaitRunning(SLEEP);
            long start = System.nanoTime();
            sendCancel(peers.socket(2), client.backendPid, client.backendSecret);
            List<RawClient.Message> answer = client.readUntil('Z');
            RawClient.Message error = answer.stream().filter(m -> m.type() == 'E').findFirst().orElse(null);
            assertNotNull(error, "the query was canceled: " + answer);
            assertEquals("57014", error.error().sqlState());
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos(), "canceled long before pg_sleep(30) ended");
        }
        processes.get(1).await(Pattern.compile("cancel request for client key \\S+ forwarded to peer 1 at unix:"), Duration.ofSeconds(5));
    }

    @Test
    void cancelsOverTheSharedPortAlwaysArriveWhicheverProcessTheKernelPicks() throws Exception {
        // As PgBouncer's test_peering: the kernel spreads both the client's and the cancel's connections.
        for (int round = 0; round < 6; round++) {
            String sql = "SELECT pg_sleep(30) -- round " + round;
            try (Connection c = Pgloom.connect(peers.port, "app", "alice", "alice-secret"); Statement s = c.createStatement()) {
                CompletableFuture<SQLException> query = CompletableFuture.supplyAsync(() -> {
                    try {
                        s.execute(sql);
                        return null;
                    } catch (SQLException e) {
                        return e;
                    }
                });
                awaitRunning(sql);
                s.cancel();
                SQLException e = query.get(15, TimeUnit.SECONDS);
                assertNotNull(e, "round " + round + ": the query was canceled");
                assertEquals("57014", e.getSQLState(), "round " + round + ": " + e.getMessage());
            }
        }
    }

    @Test
    void keysOfUnknownPeersAndSpentTtlsAreDroppedWithALogLine() throws Exception {
        try (RawClient client = new RawClient(peers.socket(1)).login("alice", "alice-secret", "app")) {
            int pid = client.backendPid;
            int spent = client.backendSecret & ~3;
            sendCancel(peers.socket(2), pid, spent);
            processes.get(1).await(Pattern.compile("cancel request for client key " + Integer.toHexString(pid)
                    + " of peer 1 dropped: its TTL is spent"), Duration.ofSeconds(5));
            int ofPeer7 = (pid & 0xFF0000FF) | (7 << 16);
            sendCancel(peers.socket(2), ofPeer7, client.backendSecret);
            processes.get(1).await(Pattern.compile("cancel request for client key " + Integer.toHexString(ofPeer7)
                    + " dropped: it names peer 7, which \\[peers\\] does not list"), Duration.ofSeconds(5));
            assertEquals("1", RawClient.firstValue(client.simpleQuery("SELECT 1")), "the client was not disturbed");
        }
    }

    @Test
    void showPeersListsThePeersSectionAndReloadChangesIt() throws Exception {
        try (RawClient console = new RawClient(peers.socket(1)).login("postgres", "postgres", "pgbouncer")) {
            ConsoleResult shown = ConsoleResult.query(console, "SHOW PEERS");
            assertEquals(List.of("peer_id", "host", "port", "pool_size"), shown.columns());
            assertEquals(List.of("1 " + peers.dir(1) + " " + peers.port + " 5", "2 " + peers.dir(2) + " " + peers.port + " 5"),
                    rows(shown));
            ConsoleResult pools = ConsoleResult.query(console, "SHOW PEER_POOLS");
            assertEquals(List.of("peer_id", "cl_active_cancel_req", "cl_waiting_cancel_req", "sv_active_cancel", "sv_login"),
                    pools.columns());
            assertEquals(List.of("1 0 0 0 0", "2 0 0 0 0"), rows(pools));

            peers.writeConfig(1, "3 = host=127.0.0.1 port=7000 pool_size=2\n");
            processes.getFirst().signal("HUP");
            processes.getFirst().await(Pattern.compile("reloaded "), Duration.ofSeconds(20));
            List<String> after = rows(ConsoleResult.query(console, "SHOW PEERS"));
            assertEquals(3, after.size(), after.toString());
            assertEquals("3 127.0.0.1 7000 2", after.getLast());
            assertEquals("3", ConsoleResult.query(console, "SHOW LISTS").row("list", "peers").get("items"));
        }
    }

    @Test
    void aSecondProcessWithTheSameUnixSocketDirIsRefusedSayingWhy() throws Exception {
        PgloomProcess clash = PgloomProcess.start("clash", peers.config(1).toString());
        processes.add(clash);
        try {
            assertEquals(1, clash.awaitExit(Duration.ofSeconds(60)), clash.output());
            clash.await(Pattern.compile("needs a unix_socket_dir of its own"), Duration.ZERO);
        } finally {
            clash.close();
        }
        assertThrows(AssertionError.class, () -> processes.getFirst().awaitExit(Duration.ofMillis(10)), "peer 1 runs on");
    }

    /** Each row's values joined by spaces. */
    private static List<String> rows(ConsoleResult result) {
        return result.rows().stream().map(r -> String.join(" ", r.values())).toList();
    }
}
