package io.pgloom.wire.backend;

import io.pgloom.wire.protocol.MessageBuilder;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A fake PostgreSQL server on loopback that plays one script against the first connection it
 * accepts, on its own virtual thread. {@link #finish} returns what the script returned, or rethrows
 * what it threw, so the test sees the server side's assertions too.
 */
final class ScriptedServer implements AutoCloseable {

    /** The server side of one connection. */
    interface Script {
        Object play(Peer peer) throws Exception;
    }

    /** Reads what the client sent and writes messages back. */
    static final class Peer {
        final Socket socket;
        final DataInputStream in;
        final OutputStream out;

        Peer(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new DataInputStream(socket.getInputStream());
            this.out = socket.getOutputStream();
        }

        /** An untyped startup-phase message: its body after the length. */
        byte[] readStartup() throws IOException {
            byte[] body = new byte[in.readInt() - 4];
            in.readFully(body);
            return body;
        }

        /** A typed message: checks its type, returns its body. */
        byte[] read(char type) throws IOException {
            int t = in.read();
            if (t != type) {
                throw new AssertionError("expected '" + type + "', got " + t);
            }
            byte[] body = new byte[in.readInt() - 4];
            in.readFully(body);
            return body;
        }

        void send(MessageBuilder... messages) throws IOException {
            for (MessageBuilder m : messages) {
                out.write(m.build());
            }
            out.flush();
        }

        void send(byte[] message) throws IOException {
            out.write(message);
            out.flush();
        }

        /** Whether the client closed its end (read returns end of stream). */
        boolean clientClosed() throws IOException {
            return in.read() < 0;
        }
    }

    private final ServerSocket listener;
    private final CompletableFuture<Object> outcome = new CompletableFuture<>();

    ScriptedServer(Script script) throws IOException {
        listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        Thread.ofVirtual().name("scripted-server").start(() -> {
            try (Socket s = listener.accept()) {
                outcome.complete(script.play(new Peer(s)));
            } catch (Throwable e) {
                outcome.completeExceptionally(e);
            }
        });
    }

    Endpoint endpoint() {
        return new Endpoint(listener.getInetAddress().getHostAddress(), listener.getLocalPort());
    }

    Object finish() throws Exception {
        try {
            return outcome.get(10, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Exception x) {
                throw x;
            }
            throw new AssertionError(e.getCause());
        }
    }

    @Override
    public void close() throws IOException {
        listener.close();
    }
}
