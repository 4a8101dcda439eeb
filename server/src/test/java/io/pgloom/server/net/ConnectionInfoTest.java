package io.pgloom.server.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import jdk.net.ExtendedSocketOptions;
import jdk.net.UnixDomainPrincipal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What a transport tells login about its connection, over real loopback and Unix sockets. */
class ConnectionInfoTest {

    @Test
    void aTcpConnectionNamesBothEndsAndIsPlain() throws Exception {
        try (ServerSocket listening = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                Socket client = new Socket(InetAddress.getLoopbackAddress(), listening.getLocalPort());
                Socket accepted = listening.accept()) {
            ConnectionInfo info = new Transport.Tcp(accepted).info();
            assertFalse(info.isUnix());
            assertEquals(new InetSocketAddress(client.getLocalAddress(), client.getLocalPort()), info.remote());
            assertEquals(new InetSocketAddress(InetAddress.getLoopbackAddress(), listening.getLocalPort()), info.local());
            assertEquals(listening.getLocalPort(), info.port());
            assertFalse(info.isEncrypted());
            assertNull(info.tls());
            assertNull(info.peerCertificate());
            assertNull(info.peerCredentials());
        }
    }

    @Test
    void aUnixConnectionNamesTheListenPortAndThePeersUser(@TempDir Path dir) throws Exception {
        Path file = dir.resolve(".s.PGSQL.6432");
        try (ServerSocketChannel listening = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            listening.bind(UnixDomainSocketAddress.of(file));
            try (SocketChannel client = SocketChannel.open(UnixDomainSocketAddress.of(file));
                    SocketChannel accepted = listening.accept()) {
                ConnectionInfo info = new Transport.Unix(accepted, file.toString(), 6432).info();
                assertTrue(info.isUnix());
                assertNull(info.remote());
                assertNull(info.local());
                assertEquals(6432, info.port());
                assertFalse(info.isEncrypted());
                assumeTrue(accepted.supportedOptions().contains(ExtendedSocketOptions.SO_PEERCRED),
                        "this platform has no SO_PEERCRED");
                UnixDomainPrincipal peer = info.peerCredentials();
                assertNotNull(peer);
                // The other end is this very process: its user owns the files it creates.
                Path mine = Files.createFile(dir.resolve("mine"));
                assertEquals(Files.getOwner(mine).getName(), peer.user().getName());
                assertTrue(info.peerIsThisProcessUser());
            }
        }
    }

    @Test
    void tlsStateAndCertificateComeWithAnUpgrade() {
        ConnectionInfo plain = ConnectionInfo.unix(6432, null);
        ConnectionInfo encrypted = plain.withTls(new ConnectionInfo.Tls("TLSv1.3", "TLS_AES_128_GCM_SHA256"), null);
        assertTrue(encrypted.isEncrypted());
        assertEquals("TLSv1.3", encrypted.tls().protocol());
        assertEquals(6432, encrypted.port());
    }

    @Test
    void inconsistentInfoIsRejected(@TempDir Path dir) throws Exception {
        InetSocketAddress a = new InetSocketAddress(InetAddress.getLoopbackAddress(), 5000);
        assertThrows(IllegalArgumentException.class, () -> new ConnectionInfo(a, null, 6432, null, null, null));
        PosixFileAttributes owner = Files.readAttributes(dir, PosixFileAttributes.class);
        UnixDomainPrincipal someone = new UnixDomainPrincipal(owner.owner(), owner.group());
        assertThrows(IllegalArgumentException.class, () -> new ConnectionInfo(a, a, 6432, null, null, someone));
        assertEquals(someone, ConnectionInfo.unix(6432, someone).peerCredentials());
        assertFalse(ConnectionInfo.unix(6432, null).peerIsThisProcessUser(), "an unknown peer is nobody's");
        assertFalse(ConnectionInfo.tcp(a, a).peerIsThisProcessUser());
    }
}
