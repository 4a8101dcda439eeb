package io.pgloom.wire.backend;

/** A PostgreSQL host to connect to: a name or address, and a TCP port. */
public record Endpoint(String host, int port) {

    /** {@code host:port}, as log lines and readiness messages name a server. */
    @Override
    public String toString() {
        return host + ":" + port;
    }
}
