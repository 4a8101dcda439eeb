package io.pgloom.wire.tcp;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;

/** A JDK {@link Socket} as a {@link Conduit}. */
public record JdkConduit(Socket socket) implements Conduit {

    static Conduit connect(InetSocketAddress address, int timeoutMillis, TcpTuning tcp) throws IOException {
        Socket socket = new Socket();
        try {
            tcp.apply(socket);
            socket.connect(address.isUnresolved() ? new InetSocketAddress(address.getHostString(), address.getPort()) : address,
                    timeoutMillis);
            return new JdkConduit(socket);
        } catch (IOException | RuntimeException e) {
            socket.close();
            throw e;
        }
    }

    @Override
    public InputStream input() throws IOException {
        return socket.getInputStream();
    }

    @Override
    public OutputStream output() throws IOException {
        return socket.getOutputStream();
    }

    @Override
    public void readTimeout(int millis) throws IOException {
        socket.setSoTimeout(millis);
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closed anyway
        }
    }
}
