package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * tcp_keepalive, tcp_keepidle and tcp_socket_buffer reach both of pgloom's sockets of a query's
 * path, the client's and the server's, as PgBouncer sets them on both. Read from the kernel with
 * ss(8), which shows a socket's keepalive timer and buffer sizes; TcpTuningTest checks the other
 * timings on a socket directly.
 */
class TcpSettingsTest {

    /**
     * ss's lines for the TCP socket whose local port is {@code port}, with timers (-o) and memory
     * (-m), once its keepalive timer shows or after 5 s: while unacknowledged data is in flight,
     * ss shows the retransmission timer instead.
     */
    private static String ssOnceIdle(int port) throws Exception {
        return ssOnceIdle("( sport = :" + port + " )");
    }

    /** As {@link #ssOnceIdle(int)}, for pgloom's end of one client's connection. */
    private static String ssOnceIdle(int port, RawClient client) throws Exception {
        return ssOnceIdle("( sport = :" + port + " and dport = :" + client.socket.getLocalPort() + " )");
    }

    private static String ssOnceIdle(String filter) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        String out = ss(filter);
        while (keepaliveSeconds(out) < 0 && System.nanoTime() < until) {
            Thread.sleep(100);
            out = ss(filter);
        }
        return out;
    }

    private static String ss(int port) throws Exception {
        return ss("( sport = :" + port + " )");
    }

    private static String ss(String filter) throws Exception {
        Process p = new ProcessBuilder("ss", "-tnoHm", "state", "established", filter)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        return out;
    }

    private static boolean ssAvailable() {
        return Files.isExecutable(Path.of("/usr/bin/ss")) || Files.isExecutable(Path.of("/bin/ss"));
    }

    /** The keepalive timer's whole seconds left (under a minute, as ss prints them: "49sec"), 999 for minutes, -1 for none. */
    private static int keepaliveSeconds(String line) {
        Matcher m = Pattern.compile("timer:\\(keepalive,(\\d+)(min|sec|\\.\\d+sec)").matcher(line);
        if (!m.find()) {
            return -1;
        }
        return m.group(2).equals("min") ? 999 : Integer.parseInt(m.group(1));
    }

    /** The receive buffer (rb) the kernel reports; Linux reports twice what SO_RCVBUF asked. */
    private static int receiveBuffer(String line) {
        Matcher m = Pattern.compile("skmem:\\(r\\d+,rb(\\d+),").matcher(line);
        assertTrue(m.find(), line);
        return Integer.parseInt(m.group(1));
    }

    @Test
    void keepaliveIdleAndSocketBufferReachClientAndServerSockets() throws Exception {
        assumeTrue(ssAvailable(), "ss (iproute2) is needed to read a socket's keepalive timer");
        String settings = "tcp_keepalive = 1\ntcp_keepidle = 50\ntcp_keepintvl = 10\ntcp_keepcnt = 3\n"
                + "tcp_socket_buffer = 65536\n";
        try (Pgloom p = Pgloom.start("session", settings);
                RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            String serverSide = RawClient.firstValue(c.simpleQuery("SELECT inet_client_port()"));
            // pgloom's end of the client connection has the listening port as its local port.
            String client = ssOnceIdle(p.port());
            String server = ssOnceIdle(Integer.parseInt(serverSide));
            for (String[] side : new String[][] {{"client", client}, {"server", server}}) {
                int left = keepaliveSeconds(side[1]);
                assertTrue(left > 30 && left <= 50, side[0] + " socket's keepalive timer follows tcp_keepidle: " + side[1]);
                assertTrue(receiveBuffer(side[1]) >= 65536 && receiveBuffer(side[1]) <= 2 * 65536,
                        side[0] + " socket's receive buffer follows tcp_socket_buffer: " + side[1]);
            }
        }
    }

    /**
     * A client's socket has its options from the listening one (io_mode = carriers) while the
     * settings are those pgloom started with; once SET (or RELOAD) changes them, each new client
     * gets the new ones set on its own socket.
     */
    @Test
    void aChangedKeepaliveReachesTheClientsThatComeAfterIt() throws Exception {
        assumeTrue(ssAvailable(), "ss (iproute2) is needed to read a socket's keepalive timer");
        try (Pgloom p = Pgloom.start("session", "tcp_keepalive = 1\ntcp_keepidle = 50\n")) {
            try (RawClient before = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
                String line = ssOnceIdle(p.port(), before);
                int left = keepaliveSeconds(line);
                assertTrue(left > 30 && left <= 50, "the keepidle pgloom started with: " + line);
            }
            p.server.set("tcp_keepidle", "20");
            try (RawClient after = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
                String line = ssOnceIdle(p.port(), after);
                int left = keepaliveSeconds(line);
                assertTrue(left > 0 && left <= 20, "the keepidle SET gave: " + line);
            }
        }
    }

    /**
     * A tcp_* value the system refuses (Linux takes at most 127 keepalive probes): the listener
     * cannot pass it on, each client's socket refuses it too, and the client is dropped (as
     * PgBouncer drops a client whose socket it cannot tune) with a warning that names the
     * option and the value; once SET fixes it, clients log in again.
     */
    @Test
    void aKeepaliveValueTheSystemRefusesIsNamedAndFixedBySet() throws Exception {
        try (LogSettingsTest.LogCapture log = new LogSettingsTest.LogCapture();
                Pgloom p = Pgloom.start("session", "tcp_keepalive = 1\ntcp_keepcnt = 1000\n")) {
            RawClient.LoginFailed refused = assertThrows(RawClient.LoginFailed.class,
                    () -> new RawClient(p.port()).login("alice", "alice-secret", "app"));
            assertEquals("58000", refused.error.sqlState(), refused.error.toString());
            assertTrue(refused.error.message().contains("TCP_KEEPCOUNT = 1000"), "the client hears why: " + refused.error);
            String line = log.await("about the refused option", l -> l.contains("could not set TCP_KEEPCOUNT = 1000"));
            assertTrue(line.startsWith("WARN"), line);
            p.server.set("tcp_keepcnt", "5");
            try (RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
                assertEquals("1", RawClient.firstValue(c.simpleQuery("SELECT 1")));
            }
        }
    }

    @Test
    void keepaliveOffLeavesNoTimer() throws Exception {
        assumeTrue(ssAvailable(), "ss (iproute2) is needed to read a socket's keepalive timer");
        try (Pgloom p = Pgloom.start("session", "tcp_keepalive = 0\ntcp_keepidle = 1234\n");
                RawClient c = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            String serverSide = RawClient.firstValue(c.simpleQuery("SELECT inet_client_port()"));
            assertTrue(keepaliveSeconds(ss(Integer.parseInt(serverSide))) < 0, "no keepalive on the server socket");
            assertTrue(keepaliveSeconds(ss(p.port())) < 0, "no keepalive on the client socket");
        }
    }
}
