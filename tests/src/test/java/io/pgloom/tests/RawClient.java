package io.pgloom.tests;

import io.pgloom.wire.auth.Md5Password;
import io.pgloom.wire.auth.ScramClientExchange;
import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.MessageBuilder;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small raw-protocol client for tests: sends exactly the bytes a test wants (well-formed or not)
 * and reads the replies message by message. Every read is bounded by a socket timeout.
 */
public final class RawClient implements AutoCloseable {
    /** The TCP socket; null for a client over a Unix socket. */
    public final Socket socket;
    /** The Unix-socket channel (non-blocking, read through a selector for timeouts); null over TCP. */
    public final SocketChannel channel;
    private final TimedChannelInput channelInput;
    private final DataInputStream in;
    private final OutputStream out;
    public int backendPid;
    public int backendSecret;
    public final Map<String, String> parameters = new LinkedHashMap<>();
    /** NoticeResponses received during login, in order. */
    public final List<ErrorResponse> loginNotices = new java.util.ArrayList<>();

    public record Message(char type, byte[] body) {
        public String text() {
            return new String(body, StandardCharsets.UTF_8);
        }

        public ErrorResponse error() {
            return ErrorResponse.decode(body, 0, body.length);
        }
    }

    public RawClient(int port) throws IOException {
        socket = new Socket("127.0.0.1", port);
        socket.setSoTimeout(20_000);
        socket.setTcpNoDelay(true);
        channel = null;
        channelInput = null;
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
    }

    /**
     * A client over the Unix socket {@code file} (e.g. {@code /tmp/.s.PGSQL.6432}). A channel's
     * blocking reads have no timeout, so this one reads in non-blocking mode through a selector,
     * with the same 20 s bound as the TCP client.
     */
    public RawClient(Path file) throws IOException {
        socket = null;
        channel = SocketChannel.open(UnixDomainSocketAddress.of(file));
        channel.configureBlocking(false);
        channelInput = new TimedChannelInput(channel);
        in = new DataInputStream(channelInput);
        out = new ChannelOutput(channel);
    }

    /** Sets how long a read may wait before it fails with SocketTimeoutException. */
    public void setReadTimeout(int millis) throws IOException {
        if (socket != null) {
            socket.setSoTimeout(millis);
        } else {
            channelInput.timeoutMillis = millis;
        }
    }

    public int readTimeout() throws IOException {
        return socket != null ? socket.getSoTimeout() : channelInput.timeoutMillis;
    }

    private boolean isClosed() {
        return socket != null ? socket.isClosed() : !channel.isOpen();
    }

    public RawClient send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    public static byte[] startupPacket(Map<String, String> params) {
        MessageBuilder m = new MessageBuilder().int32(3 << 16);
        params.forEach((k, v) -> m.cstring(k).cstring(v));
        return m.byte1(0).build();
    }

    public static byte[] query(String sql) {
        return new MessageBuilder('Q').cstring(sql).build();
    }

    public static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        ByteBuffer b = ByteBuffer.allocate(n);
        for (byte[] p : parts) {
            b.put(p);
        }
        return b.array();
    }

    public Message read() throws IOException {
        char type = (char) in.readUnsignedByte();
        int len = in.readInt();
        if (len < 4 || len > 64 << 20) {
            throw new IOException("bad length " + len + " for '" + type + "'");
        }
        byte[] body = new byte[len - 4];
        in.readFully(body);
        return new Message(type, body);
    }

    /** Reads until a message of {@code type}; returns all messages read, the last being it. */
    public List<Message> readUntil(char type) throws IOException {
        List<Message> got = new ArrayList<>();
        while (true) {
            Message m = read();
            got.add(m);
            if (m.type() == type) {
                return got;
            }
        }
    }

    /** Reads until an ErrorResponse and returns it. */
    public ErrorResponse readError() throws IOException {
        List<Message> ms = readUntil('E');
        return ms.getLast().error();
    }

    /** One byte as it comes (the answer to an SSLRequest: 'S' or 'N'); -1 at end of stream. */
    public int readByte() throws IOException {
        return in.read();
    }

    /** True if the peer closed the connection (EOF) within the socket timeout. */
    public boolean closedByPeer() throws IOException {
        try {
            while (true) {
                if (in.read() < 0) {
                    return true;
                }
            }
        } catch (SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true; // reset counts as closed
        }
    }

    /** True if the peer closed within half a second; false if the connection stays open. */
    public boolean closedByPeerQuickly() throws IOException {
        int old = readTimeout();
        setReadTimeout(500);
        try {
            return closedByPeer();
        } finally {
            if (!isClosed()) {
                setReadTimeout(old);
            }
        }
    }

    /** Logs in with whatever the server asks (cleartext, md5, SCRAM) and reads until ReadyForQuery. */
    public RawClient login(String user, String password, String database) throws IOException {
        return login(user, password, database, Map.of());
    }

    /** Logs in with extra startup parameters (TimeZone, application_name...). */
    public RawClient login(String user, String password, String database, Map<String, String> extra) throws IOException {
        try {
            return loginOrFail(user, password, database, extra);
        } catch (io.pgloom.wire.auth.AuthFailure e) {
            throw new IOException("SCRAM exchange failed: " + e.getMessage(), e);
        }
    }

    private RawClient loginOrFail(String user, String password, String database, Map<String, String> extra)
            throws IOException, io.pgloom.wire.auth.AuthFailure {
        Map<String, String> p = new LinkedHashMap<>();
        p.put("user", user);
        p.put("database", database);
        p.putAll(extra);
        send(startupPacket(p));
        ScramClientExchange scram = null;
        while (true) {
            Message m = read();
            switch (m.type()) {
                case 'R' -> {
                    int code = ByteBuffer.wrap(m.body()).getInt();
                    byte[] rest = Arrays.copyOfRange(m.body(), 4, m.body().length);
                    switch (code) {
                        case 0 -> { }
                        case 3 -> send(new MessageBuilder('p').cstring(password).build());
                        case 5 -> send(new MessageBuilder('p').cstring(Md5Password.response(Md5Password.hash(user, password), rest)).build());
                        case 10 -> {
                            scram = new ScramClientExchange(password);
                            byte[] first = scram.clientFirstMessage();
                            send(new MessageBuilder('p').cstring("SCRAM-SHA-256").int32(first.length).bytes(first).build());
                        }
                        case 11 -> send(new MessageBuilder('p').bytes(scram.clientFinalMessage(rest)).build());
                        case 12 -> scram.verifyServerFinal(rest);
                        default -> throw new IOException("unexpected auth code " + code);
                    }
                }
                case 'S' -> {
                    String[] kv = new String(m.body(), StandardCharsets.UTF_8).split("\0");
                    parameters.put(kv[0], kv.length > 1 ? kv[1] : "");
                }
                case 'K' -> {
                    ByteBuffer b = ByteBuffer.wrap(m.body());
                    backendPid = b.getInt();
                    backendSecret = b.getInt();
                }
                case 'N' -> loginNotices.add(m.error());
                case 'E' -> throw new LoginFailed(m.error());
                case 'Z' -> {
                    return this;
                }
                default -> { }
            }
        }
    }

    /** Runs a simple query and returns the messages up to and including ReadyForQuery. */
    public List<Message> simpleQuery(String sql) throws IOException {
        send(query(sql));
        return readUntil('Z');
    }

    /** The first column of the first DataRow of a result, as text. */
    public static String firstValue(List<Message> messages) {
        for (Message m : messages) {
            if (m.type() == 'D') {
                ByteBuffer b = ByteBuffer.wrap(m.body());
                b.getShort();
                int len = b.getInt();
                return len < 0 ? null : new String(m.body(), 6, len, StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    public void terminate() throws IOException {
        send(new byte[] {'X', 0, 0, 0, 4});
    }

    @Override
    public void close() throws IOException {
        if (socket != null) {
            socket.close();
        } else {
            channelInput.selector.close();
            channel.close();
        }
    }

    /** Reads a non-blocking channel, waiting in a selector at most {@code timeoutMillis} per read. */
    private static final class TimedChannelInput extends InputStream {
        final SocketChannel channel;
        final Selector selector;
        volatile int timeoutMillis = 20_000;

        TimedChannelInput(SocketChannel channel) throws IOException {
            this.channel = channel;
            this.selector = Selector.open();
            channel.register(selector, SelectionKey.OP_READ);
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
            while (true) {
                int n = channel.read(ByteBuffer.wrap(b, off, len));
                if (n != 0) {
                    return n;
                }
                long left = (deadline - System.nanoTime()) / 1_000_000;
                if (left <= 0) {
                    throw new SocketTimeoutException("no data within " + timeoutMillis + " ms");
                }
                selector.select(left);
                selector.selectedKeys().clear();
            }
        }
    }

    /** Writes all of each buffer to a non-blocking channel (tests send little; a short spin is fine). */
    private static final class ChannelOutput extends OutputStream {
        final SocketChannel channel;

        ChannelOutput(SocketChannel channel) {
            this.channel = channel;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(b, off, len);
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (buf.hasRemaining()) {
                if (channel.write(buf) == 0) {
                    if (System.nanoTime() - deadline > 0) {
                        throw new SocketTimeoutException("could not write within 20 s");
                    }
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        throw new java.io.InterruptedIOException();
                    }
                }
            }
        }
    }

    public static final class LoginFailed extends EOFException {
        public final ErrorResponse error;

        LoginFailed(ErrorResponse error) {
            super(error.toString());
            this.error = error;
        }
    }
}
