package io.pgloom.config.hba;

import java.net.InetAddress;
import java.util.Objects;

/**
 * What an hba rule is matched against: how the client connected and what it asked for.
 *
 * @param address     the client's IP address; null over the Unix socket
 * @param tls         true if the connection is encrypted
 * @param database    the database the client asked for
 * @param user        the user the client asked for
 * @param replication true for a replication connection (startup parameter {@code replication})
 */
public record HbaClient(InetAddress address, boolean tls, String database, String user, boolean replication) {

    public HbaClient {
        Objects.requireNonNull(database, "database");
        Objects.requireNonNull(user, "user");
    }

    /** A client over the Unix socket. */
    public static HbaClient local(String database, String user) {
        return new HbaClient(null, false, database, user, false);
    }

    /** A client over TCP from {@code address}. */
    public static HbaClient host(InetAddress address, boolean tls, String database, String user) {
        return new HbaClient(Objects.requireNonNull(address, "address"), tls, database, user, false);
    }

    public boolean isLocal() {
        return address == null;
    }

    /** This client on a replication connection. */
    public HbaClient asReplication() {
        return new HbaClient(address, tls, database, user, true);
    }
}
