package io.pgloom.server.net;

import io.pgloom.server.carrier.ChannelAcceptor;
import io.pgloom.server.carrier.ChannelConduit;
import io.pgloom.server.carrier.Carriers;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Unix-domain socket PgBouncer listens on, {@code <unix_socket_dir>/.s.PGSQL.<port>}: the name
 * libpq looks for, so {@code psql -h /tmp -p 6432} finds it. Binding replaces a stale file a dead
 * process left (nobody accepts on it) and refuses a live one; the file gets unix_socket_mode and
 * unix_socket_group, and is removed when the listener closes.
 */
final class UnixSocket implements Listener.Acceptor {
    private static final Logger log = LoggerFactory.getLogger(UnixSocket.class);
    /** The file-type bits of st_mode, and the value that means "socket" (S_IFMT, S_IFSOCK). */
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private final ServerSocketChannel channel;
    /** The channel as pgloom's carriers accept on it; null with io_mode = jdk. */
    private final ChannelAcceptor carried;
    private final Path file;
    private final String path;
    private final int port;

    private UnixSocket(ServerSocketChannel channel, Path file, int port) throws IOException {
        this.channel = channel;
        this.carried = Carriers.active() ? new ChannelAcceptor(channel) : null;
        this.file = file;
        this.path = file.toString();
        this.port = port;
    }

    /** The socket file's name in {@code dir} for {@code port}, as libpq builds it. */
    static Path file(Path dir, int port) {
        return dir.resolve(".s.PGSQL." + port);
    }

    static UnixSocket bind(Path dir, int port, int mode, String group, int backlog) throws IOException {
        Path file = file(dir, port);
        removeIfStale(file);
        ServerSocketChannel channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            channel.bind(UnixDomainSocketAddress.of(file), backlog);
        } catch (IOException e) {
            channel.close();
            throw new IOException("could not listen on unix socket " + file + " (unix_socket_dir): " + e.getMessage(), e);
        }
        UnixSocket socket;
        try {
            socket = new UnixSocket(channel, file, port);
        } catch (IOException e) {
            channel.close();
            throw e;
        }
        try {
            Files.setPosixFilePermissions(file, permissions(mode));
            if (group != null && !group.isBlank()) {
                setGroup(file, group.trim());
            }
        } catch (IOException | UnsupportedOperationException e) {
            socket.close();
            throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
        }
        return socket;
    }

    /**
     * A socket file someone accepts on means another pooler (or a PostgreSQL) owns this name:
     * refuse to start. One nobody accepts on was left by a process that died: remove it.
     */
    private static void removeIfStale(Path file) throws IOException {
        if (!Files.exists(file, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        if (!isSocket(file)) {
            throw new IOException(file + " exists and is not a socket: pgloom will not replace it (unix_socket_dir)");
        }
        try (SocketChannel probe = SocketChannel.open(UnixDomainSocketAddress.of(file))) {
            throw new IOException("another process accepts connections on unix socket " + file
                    + ": is another pgloom or PgBouncer running with listen_port " + file.getFileName().toString().substring(".s.PGSQL.".length())
                    + "? Stop it, or change unix_socket_dir or listen_port");
        } catch (java.net.ConnectException | java.nio.file.NoSuchFileException stale) {
            // Connection refused: nobody listens; the process that made it is gone.
        } catch (java.net.SocketException e) {
            if (!String.valueOf(e.getMessage()).contains("refused")) {
                throw new IOException("could not check unix socket " + file + ": " + e.getMessage(), e);
            }
        }
        Files.deleteIfExists(file);
        log.info("removed stale unix socket {} (nobody accepted on it)", file);
    }

    private static boolean isSocket(Path file) throws IOException {
        try {
            int mode = (Integer) Files.getAttribute(file, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            return (mode & S_IFMT) == S_IFSOCK;
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther();
        }
    }

    static Set<PosixFilePermission> permissions(int mode) {
        PosixFilePermission[] bits = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ};
        Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
        for (int i = 0; i < bits.length; i++) {
            if ((mode & (1 << i)) != 0) {
                set.add(bits[i]);
            }
        }
        return set;
    }

    private static void setGroup(Path file, String group) throws IOException {
        GroupPrincipal principal;
        try {
            principal = file.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByGroupName(group);
        } catch (IOException e) {
            throw new IOException("unix_socket_group = " + group + ": no such group, so the group of " + file
                    + " cannot be set", e);
        }
        try {
            Files.getFileAttributeView(file, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS).setGroup(principal);
        } catch (IOException e) {
            throw new IOException("unix_socket_group = " + group + ": could not give " + file + " to group " + group
                    + " (" + e.getMessage() + "); pgloom's user must be a member of that group", e);
        }
    }

    @Override
    public Transport accept() throws IOException {
        if (carried == null) {
            return new Transport.Unix(channel.accept(), path, port);
        }
        SocketChannel c = carried.accept();
        return new Transport.Unix(c, ChannelConduit.of(c), path, port);
    }

    @Override
    public boolean isOpen() {
        return channel.isOpen();
    }

    @Override
    public void close() {
        if (!channel.isOpen()) {
            return;
        }
        if (carried != null) {
            carried.close();
        } else {
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing anyway
            }
        }
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            log.warn("could not remove unix socket {}: {}", file, e.toString());
        }
    }

    @Override
    public int port() {
        return port;
    }

    @Override
    public String describe() {
        return "unix:" + path;
    }
}
