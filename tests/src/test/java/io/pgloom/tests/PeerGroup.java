package io.pgloom.tests;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Several pgloom processes on one TCP port with so_reuseport = 1, as PgBouncer's peering tests run
 * them: peer {@code i} has its own directory (its unix_socket_dir, pidfile and config), and every
 * config's [peers] names every peer, itself included, by its Unix socket (so configs differ in
 * peer_id and directories only). A peer's replacement reuses its directory and config.
 */
final class PeerGroup implements AutoCloseable {
    static final Duration START = Duration.ofSeconds(60);

    final int port;
    private final Path root;
    private final int size;
    private final String extraSettings;
    private final List<PgloomProcess> started = new ArrayList<>();

    PeerGroup(Path root, int size, String extraSettings) throws IOException {
        this.port = PgloomProcess.freePort();
        this.root = root;
        this.size = size;
        this.extraSettings = extraSettings;
        for (int id = 1; id <= size; id++) {
            Files.createDirectories(dir(id));
            writeConfig(id, "");
        }
    }

    Path dir(int peerId) {
        return root.resolve("peer" + peerId);
    }

    /** The Unix socket of peer {@code peerId}: the way to reach that one process and no other. */
    Path socket(int peerId) {
        return dir(peerId).resolve(".s.PGSQL." + port);
    }

    Path config(int peerId) {
        return dir(peerId).resolve("pgbouncer.ini");
    }

    /** (Re)writes peer {@code peerId}'s config; {@code morePeers} are added to its [peers] section. */
    void writeConfig(int peerId, String morePeers) throws IOException {
        StringBuilder peers = new StringBuilder("[peers]\n");
        for (int id = 1; id <= size; id++) {
            peers.append(id).append(" = host=").append(dir(id)).append(" port=").append(port).append('\n');
        }
        peers.append(morePeers);
        String settings = "listen_port = " + port + "\n"
                + "so_reuseport = 1\n"
                + "peer_id = " + peerId + "\n"
                + "unix_socket_dir = " + dir(peerId) + "\n"
                + "pidfile = " + dir(peerId).resolve("pgloom.pid") + "\n"
                + "admin_users = postgres\n"
                + extraSettings + "\n" + peers;
        Pgloom.writeConfig(dir(peerId), Pgloom.iniText("transaction", settings, ""), Pgloom.defaultUserlist());
    }

    /** Starts peer {@code peerId} (again) and waits until it listens on the shared port and its socket. */
    PgloomProcess start(int peerId) throws IOException, InterruptedException {
        PgloomProcess p = PgloomProcess.start("peer" + peerId, config(peerId).toString());
        started.add(p);
        p.await(Pattern.compile("listening on unix:" + Pattern.quote(socket(peerId).toString())), START);
        return p;
    }

    @Override
    public void close() throws InterruptedException {
        for (PgloomProcess p : started) {
            p.close();
        }
    }
}
