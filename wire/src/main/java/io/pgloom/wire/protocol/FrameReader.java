package io.pgloom.wire.protocol;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;

/**
 * The one reusable read buffer of a socket, and frame reading over it.
 *
 * <p>Threading: owned by the single thread that reads the socket; not thread-safe.
 *
 * <p>The buffer starts small so that an idle client costs little, grows when a frame that must be
 * inspected whole does not fit or when reads keep filling it, and {@link #shrinkIfEmpty()} gives the
 * memory back down to a resting size when the peer goes quiet. The resting size may be larger than
 * the initial one: a peer that never sent much (a client that logged in and sits idle) keeps the
 * small first buffer, while one that did is not made to grow again for every message. Lengths are checked against {@code maxFrame} before any
 * allocation: a peer cannot make us allocate what it claims.
 */
public final class FrameReader {
    private final InputStream in;
    private final int restingSize;
    private final int maxBufferSize;
    private byte[] buf;
    private int pos;
    private int limit;

    public FrameReader(InputStream in, int initialSize, int maxBufferSize) {
        this(in, initialSize, initialSize, maxBufferSize);
    }

    /** A buffer of {@code initialSize} that {@link #shrinkIfEmpty} brings back to {@code restingSize}. */
    public FrameReader(InputStream in, int initialSize, int restingSize, int maxBufferSize) {
        this.in = in;
        this.restingSize = restingSize;
        this.maxBufferSize = maxBufferSize;
        this.buf = new byte[initialSize];
    }

    public byte[] buffer() {
        return buf;
    }

    public int position() {
        return pos;
    }

    public int limit() {
        return limit;
    }

    public int available() {
        return limit - pos;
    }

    public void advance(int n) {
        pos += n;
    }

    /**
     * Reads more bytes after those buffered, compacting or growing first if there is no room.
     * Returns false at end of stream.
     */
    public boolean fill() throws IOException {
        if (pos == limit) {
            pos = 0;
            limit = 0;
        } else if (limit == buf.length) {
            if (pos > 0) {
                System.arraycopy(buf, pos, buf, 0, limit - pos);
                limit -= pos;
                pos = 0;
            } else if (buf.length < maxBufferSize) {
                buf = Arrays.copyOf(buf, Math.min(maxBufferSize, buf.length * 2));
            }
        }
        int n = in.read(buf, limit, buf.length - limit);
        if (n < 0) {
            return false;
        }
        limit += n;
        // A read that filled the buffer suggests a busy peer: give it more room next time.
        if (limit == buf.length && buf.length < maxBufferSize && pos == 0) {
            buf = Arrays.copyOf(buf, Math.min(maxBufferSize, buf.length * 2));
        }
        return true;
    }

    /** Makes room for a frame of {@code frameLength} bytes starting at the current position. */
    public void ensureFits(int frameLength) {
        if (buf.length - pos >= frameLength) {
            return;
        }
        if (buf.length >= frameLength) {
            System.arraycopy(buf, pos, buf, 0, limit - pos);
            limit -= pos;
            pos = 0;
            return;
        }
        byte[] bigger = new byte[frameLength];
        System.arraycopy(buf, pos, bigger, 0, limit - pos);
        limit -= pos;
        pos = 0;
        buf = bigger;
    }

    /** Drops back to the resting buffer size when nothing is buffered (an idle peer costs little). */
    public void shrinkIfEmpty() {
        if (pos == limit && buf.length > restingSize) {
            buf = new byte[restingSize];
            pos = 0;
            limit = 0;
        }
    }

    /** Where {@link #passThrough} sends bytes. */
    @FunctionalInterface
    public interface Sink {
        void write(byte[] b, int off, int len) throws IOException;
    }

    /**
     * Passes the next {@code remaining} bytes (the rest of a frame too big to buffer whole) from
     * the socket to {@code sink}, one read at a time.
     */
    public void passThrough(int remaining, Sink sink) throws IOException {
        while (remaining > 0) {
            if (!fill()) {
                throw new EOFException("connection closed within a message");
            }
            int n = Math.min(remaining, available());
            sink.write(buf, pos, n);
            pos += n;
            remaining -= n;
        }
    }

    /** Reads until {@code n} bytes are buffered at the position. */
    public void require(int n) throws IOException {
        ensureFits(n);
        while (available() < n) {
            if (!fill()) {
                throw new EOFException("connection closed within a message");
            }
        }
    }

    /**
     * Reads one whole startup-phase message (length, then body) and returns its body. Lengths
     * outside [8, {@code maxLength}] are refused before anything is allocated.
     */
    public byte[] readStartupMessage(int maxLength) throws IOException {
        require(4);
        int len = Bytes.int32(buf, pos);
        if (len < 8 || len > maxLength) {
            throw new ProtocolException("invalid length of startup packet: " + Integer.toUnsignedString(len));
        }
        require(len);
        byte[] body = Arrays.copyOfRange(buf, pos + 4, pos + len);
        pos += len;
        return body;
    }

    /**
     * Reads one whole typed message and returns its type; its body is then at
     * [{@link #position()} - bodyLength, {@link #position()}). Used in the handshake, where messages
     * are small and must be understood whole.
     */
    public Message readMessage(int maxLength) throws IOException {
        require(5);
        char type = (char) (buf[pos] & 0xff);
        int len = Bytes.int32(buf, pos + 1);
        if (len < 4 || len > maxLength) {
            throw new ProtocolException("invalid message length " + Integer.toUnsignedString(len)
                    + " for message type '" + printable(type) + "'");
        }
        require(1 + len);
        byte[] body = Arrays.copyOfRange(buf, pos + 5, pos + 1 + len);
        pos += 1 + len;
        return new Message(type, body);
    }

    /** A whole message read during the handshake. */
    public record Message(char type, byte[] body) {
    }

    public static String printable(char type) {
        return type >= 32 && type < 127 ? String.valueOf(type) : String.format("\\x%02x", (int) type);
    }
}
