package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A database entry with two hosts, one of them dead: server_login_retry holds back the dead host
 * only, so clients keep being served by the live one instead of waiting out the retry window.
 */
class MultiHostLoginRetryTest {

    @Test
    void aDeadHostIsHeldBackAloneAndClientsAreServedByTheLiveOne() throws Exception {
        TestPostgres.Endpoint pg = TestPostgres.shared();
        // The dead host: another loopback address on the live one's port (an entry has one port),
        // where a listener hangs up at once: a network-level failure, counted so the test sees it.
        try (ServerSocket dead = new ServerSocket(pg.port(), 50, InetAddress.getByName("127.0.0.2"))) {
            AtomicInteger deadTries = new AtomicInteger();
            Thread.ofVirtual().start(() -> {
                while (!dead.isClosed()) {
                    try (Socket s = dead.accept()) {
                        deadTries.incrementAndGet();
                    } catch (Exception closed) {
                        return;
                    }
                }
            });
            // The dead host comes first, so the very first connection goes to it.
            String db = "two = host=127.0.0.2," + pg.host() + " port=" + pg.port() + " dbname=app\n";
            try (Pgloom p = Pgloom.start("session", "server_login_retry = 60\nquery_wait_timeout = 30\n", db)) {
                List<Connection> held = new ArrayList<>();
                long start = System.nanoTime();
                try {
                    // Session mode: each client holds its server, so each one needs a new connection.
                    for (int i = 0; i < 4; i++) {
                        Connection c = p.connect("two", "alice", "alice-secret");
                        held.add(c);
                        assertEquals("app", one(c, "SELECT current_database()"));
                    }
                } finally {
                    for (Connection c : held) {
                        c.close();
                    }
                }
                long seconds = (System.nanoTime() - start) / 1_000_000_000L;
                assertTrue(seconds < 20, "four clients served in " + seconds + " s, far within server_login_retry (60 s)");
                assertEquals(1, deadTries.get(), "the dead host is tried once, then held back for server_login_retry");
            }
        }
    }

    private static String one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
