package io.pgloom.server.carrier;

import java.io.IOException;
import java.nio.channels.SelectionKey;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * A listening channel (TCP or Unix) whose {@link #accept} blocks the calling virtual thread on its
 * carrier's selector, as {@link ChannelConduit} does for reads: a burst of connections is
 * accepted without waiting, and only an accept that finds none parks.
 *
 * <p>Threading: one accepting thread; {@link #close} from any thread wakes it.
 */
public final class ChannelAcceptor {
    private final ServerSocketChannel channel;
    private final Readiness readiness;

    public ChannelAcceptor(ServerSocketChannel channel) throws IOException {
        channel.configureBlocking(false);
        this.channel = channel;
        this.readiness = new Readiness(channel, SelectionKey.OP_ACCEPT, this::close);
    }

    /** The next connection, as a blocking accept would return it; throws once closed. */
    public SocketChannel accept() throws IOException {
        while (true) {
            if (readiness.readable) {
                SocketChannel c = channel.accept();
                if (c != null) {
                    return c;
                }
                readiness.readable = false;
            }
            readiness.awaitReadable(0);
        }
    }

    public void close() {
        try {
            channel.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        readiness.wakeAll();
    }
}
