package io.pgloom.wire.backend;

/**
 * What pgloom can prove to a PostgreSQL server for one user: a plain password, an md5 hash (enough
 * for md5 authentication), or SCRAM keys recovered from a client's own SCRAM login (enough for
 * scram-sha-256 without knowing the password, as PgBouncer does).
 */
public record ServerCredentials(String user, String password, String md5Hash, byte[] scramClientKey, byte[] scramServerKey) {

    public static ServerCredentials none(String user) {
        return new ServerCredentials(user, null, null, null, null);
    }

    public ServerCredentials withScramKeys(byte[] clientKey, byte[] serverKey) {
        return new ServerCredentials(user, password, md5Hash, clientKey, serverKey);
    }

    public boolean hasScramKeys() {
        return scramClientKey != null && scramServerKey != null;
    }
}
