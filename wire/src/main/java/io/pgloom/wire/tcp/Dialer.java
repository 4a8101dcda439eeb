package io.pgloom.wire.tcp;

import java.io.IOException;
import java.net.InetSocketAddress;

/** Opens TCP connections: the JDK's sockets ({@link #JDK}), or pgloom's carriers' channels. */
@FunctionalInterface
public interface Dialer {

    /** JDK sockets, blocking the calling thread (a virtual thread: the JDK's poller wakes it). */
    Dialer JDK = JdkConduit::connect;

    /**
     * Connects to {@code address} (resolving it first if it is unresolved) with {@code tcp}'s options set before the connect, within
     * {@code timeoutMillis} (0: the system's own limit); a timeout is a
     * {@link java.net.SocketTimeoutException}.
     */
    Conduit connect(InetSocketAddress address, int timeoutMillis, TcpTuning tcp) throws IOException;
}
