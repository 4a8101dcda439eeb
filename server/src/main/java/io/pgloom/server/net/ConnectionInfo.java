package io.pgloom.server.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.security.cert.X509Certificate;
import jdk.net.UnixDomainPrincipal;

/**
 * What login and hba decisions know about a client's connection: where it came from (an address
 * and port, or a Unix socket and the port in its name), where it arrived, whether it is encrypted
 * and with what certificate, and, over a Unix socket, which OS user and group connected.
 *
 * <p>Threading: immutable. Made on demand by {@link Transport#info()} for one login and then
 * dropped; nothing keeps one per idle client.
 *
 * @param remote          the client's address and port; null for a Unix socket
 * @param local           the address and port the client connected to; null for a Unix socket
 * @param port            the port the client connected to: the TCP port, or the one in the Unix
 *                        socket's name ({@code .s.PGSQL.<port>})
 * @param tls             the encryption in use; null for plain text
 * @param peerCertificate the certificate the client presented over TLS; null if none
 * @param peerCredentials the OS user and group of the process at the other end of a Unix socket
 *                        (SO_PEERCRED); null over TCP or where the platform cannot tell
 */
public record ConnectionInfo(InetSocketAddress remote, InetSocketAddress local, int port, Tls tls,
        X509Certificate peerCertificate, UnixDomainPrincipal peerCredentials) {

    /** An encrypted connection's protocol and cipher suite, as hba rules and SHOW CLIENTS will want them. */
    public record Tls(String protocol, String cipherSuite) {
    }

    public ConnectionInfo {
        if ((remote == null) != (local == null)) {
            throw new IllegalArgumentException("a TCP connection has both addresses, a Unix one neither");
        }
        if (remote != null && peerCredentials != null) {
            throw new IllegalArgumentException("peer credentials exist only for a Unix socket");
        }
        if (tls == null && peerCertificate != null) {
            throw new IllegalArgumentException("a peer certificate needs TLS");
        }
    }

    /** A plain TCP connection. */
    public static ConnectionInfo tcp(InetSocketAddress remote, InetSocketAddress local) {
        return new ConnectionInfo(remote, local, local.getPort(), null, null, null);
    }

    /** A Unix-socket connection on the socket named after {@code port}. */
    public static ConnectionInfo unix(int port, UnixDomainPrincipal peerCredentials) {
        return new ConnectionInfo(null, null, port, null, null, peerCredentials);
    }

    /** The same connection once encrypted: what a {@link Transport.Upgrade}'s transport reports. */
    public ConnectionInfo withTls(Tls tls, X509Certificate peerCertificate) {
        return new ConnectionInfo(remote, local, port, tls, peerCertificate, peerCredentials);
    }

    /** True for a Unix-socket connection: hba's {@code local} lines, not {@code host} ones. */
    public boolean isUnix() {
        return remote == null;
    }

    public boolean isEncrypted() {
        return tls != null;
    }

    /**
     * The CN of the client's certificate, which the cert method takes for the user name (the
     * first CN of its subject, as PostgreSQL reads it); null without a certificate or a CN.
     */
    public String peerCommonName() {
        if (peerCertificate == null) {
            return null;
        }
        try {
            var rdns = new javax.naming.ldap.LdapName(peerCertificate.getSubjectX500Principal().getName()).getRdns();
            // LdapName lists the subject's parts from the last to the first.
            for (int i = rdns.size() - 1; i >= 0; i--) {
                if (rdns.get(i).getType().equalsIgnoreCase("CN")) {
                    return String.valueOf(rdns.get(i).getValue());
                }
            }
            return null;
        } catch (javax.naming.InvalidNameException e) {
            return null;
        }
    }

    /**
     * True if the client is a process of the OS user pgloom runs as: a Unix-socket client whose
     * SO_PEERCRED uid is pgloom's own. False over TCP, or when either side's user is unknown.
     */
    public boolean peerIsThisProcessUser() {
        UserPrincipal mine = ThisProcess.USER;
        // The JDK's Unix user principals are equal when their uids are, whatever the names.
        return peerCredentials != null && mine != null && mine.equals(peerCredentials.user());
    }

    /** The OS user pgloom runs as, looked up once: it does not change while pgloom runs. */
    private static final class ThisProcess {
        static final UserPrincipal USER = find();

        /**
         * user.name is the JVM's getpwuid(getuid()), PgBouncer's getuid(). A uid with no passwd
         * entry (containers started with an arbitrary uid) has no name to look up; then the owner
         * of /proc/self, the process's own uid on Linux, says who it is.
         */
        private static UserPrincipal find() {
            try {
                return FileSystems.getDefault().getUserPrincipalLookupService()
                        .lookupPrincipalByName(System.getProperty("user.name"));
            } catch (IOException | UnsupportedOperationException e) {
                try {
                    return Files.getOwner(Path.of("/proc/self"));
                } catch (IOException | UnsupportedOperationException noProc) {
                    return null;
                }
            }
        }
    }
}
