package io.pgloom.server.carrier;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * A listening channel (TCP or Unix) whose {@link #accept} blocks the calling virtual thread until
 * its carrier's epoll reports a connection, as {@link ChannelConduit} does for reads: a burst of
 * connections is accepted without waiting, and only an accept that finds none parks.
 *
 * <p>Threading: one accepting thread; {@link #close} from any thread wakes it.
 */
public final class ChannelAcceptor {
    private final ServerSocketChannel channel;
    private final Descriptor descriptor;

    public ChannelAcceptor(ServerSocketChannel channel) throws IOException {
        channel.configureBlocking(false);
        this.channel = channel;
        this.descriptor = new Descriptor(channel, true);
    }

    /** The next connection, as a blocking accept would return it; throws once closed. */
    public SocketChannel accept() throws IOException {
        Descriptor d = descriptor;
        while (true) {
            if (d.readable) {
                d.readable = false; // before the accept: a connection that comes after it is reported again
                SocketChannel c;
                try {
                    c = channel.accept();
                } catch (ClosedChannelException e) {
                    throw Descriptor.closedException();
                } catch (IOException e) {
                    d.readable = true; // out of descriptors, say: the waiting connections are still there to retry
                    throw e;
                }
                if (c != null) {
                    d.readable = true; // more may wait
                    return c;
                }
            }
            d.awaitReadable(0);
        }
    }

    public void close() {
        descriptor.close();
    }
}
