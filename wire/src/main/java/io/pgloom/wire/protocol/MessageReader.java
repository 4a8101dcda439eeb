package io.pgloom.wire.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * A cursor over one message body, {@code bytes[from, to)}: the one reader of the protocol's
 * integers and NUL-terminated strings, so that every decoder checks bounds the same way.
 *
 * <p>Threading: single use, one thread; it reads the array in place, so the array must not change
 * while it is read.
 *
 * <p>The strict reads ({@link #int32}, {@link #cstring}, {@link #bytes}...) throw
 * {@link ProtocolException} when the message ends too early, and a length read from the peer is
 * checked against the bytes left before anything is allocated (pgjdbc learned that one the hard
 * way: a peer must not make us allocate what it merely claims). The lenient reads ({@link #peek},
 * {@link #cstringOrRest}) never throw: for decoders that must take what a server sent even when it
 * is cut short, and decide for themselves what a defect means.
 */
public final class MessageReader {
    private final byte[] bytes;
    private final int to;
    private int position;

    public MessageReader(byte[] bytes) {
        this(bytes, 0, bytes.length);
    }

    public MessageReader(byte[] bytes, int from, int to) {
        if (from < 0 || to > bytes.length || from > to) {
            throw new IndexOutOfBoundsException("[" + from + ", " + to + ") is not within " + bytes.length + " bytes");
        }
        this.bytes = bytes;
        this.position = from;
        this.to = to;
    }

    public int remaining() {
        return to - position;
    }

    public boolean atEnd() {
        return position == to;
    }

    /** The next byte (0-255) without consuming it, or -1 at the end. */
    public int peek() {
        return position < to ? bytes[position] & 0xff : -1;
    }

    public int byte1() throws ProtocolException {
        require(1, "a byte");
        return bytes[position++] & 0xff;
    }

    /** An Int16, unsigned (0-65535): counts and format codes are never negative. */
    public int int16() throws ProtocolException {
        require(2, "an Int16");
        int v = Bytes.int16(bytes, position);
        position += 2;
        return v;
    }

    public int int32() throws ProtocolException {
        require(4, "an Int32");
        int v = Bytes.int32(bytes, position);
        position += 4;
        return v;
    }

    /**
     * The next {@code n} bytes, copied. {@code n} usually comes from the peer: a negative one (an
     * unsigned length above 2^31) or one past the end is refused before the copy is allocated.
     */
    public byte[] bytes(int n) throws ProtocolException {
        requireClaimed(n);
        byte[] b = Arrays.copyOfRange(bytes, position, position + n);
        position += n;
        return b;
    }

    /**
     * Passes over the next {@code n} bytes without copying them (fields a decoder has no use for),
     * refused like {@link #bytes} when {@code n} is negative or past the end.
     */
    public void skip(int n) throws ProtocolException {
        requireClaimed(n);
        position += n;
    }

    /** Everything left, copied. */
    public byte[] rest() {
        byte[] b = Arrays.copyOfRange(bytes, position, to);
        position = to;
        return b;
    }

    /** Whether a NUL terminator comes before the end: {@link #cstring} would succeed. */
    public boolean hasCString() {
        return nul() >= 0;
    }

    /** A NUL-terminated UTF-8 string; the NUL is consumed, not returned. */
    public String cstring() throws ProtocolException {
        int nul = nul();
        if (nul < 0) {
            throw new ProtocolException("unterminated string in message");
        }
        String s = new String(bytes, position, nul - position, StandardCharsets.UTF_8);
        position = nul + 1;
        return s;
    }

    /**
     * A NUL-terminated string, or the rest of the message when the terminator is missing (then
     * nothing is left); at the end, "". Never throws: for what a server tells us in passing
     * (ParameterStatus), where a defect is not worth losing the connection over.
     */
    public String cstringOrRest() {
        int nul = nul();
        int end = nul < 0 ? to : nul;
        String s = new String(bytes, position, end - position, StandardCharsets.UTF_8);
        position = nul < 0 ? to : nul + 1;
        return s;
    }

    private int nul() {
        return indexOfNul(bytes, position, to);
    }

    /**
     * Index of the first NUL in {@code b[from, to)}, or -1: the terminator scan without a cursor,
     * for the relay, which looks at client frames in its read buffer and must not allocate a reader
     * per message.
     */
    public static int indexOfNul(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] == 0) {
                return i;
            }
        }
        return -1;
    }

    private void requireClaimed(int n) throws ProtocolException {
        if (n < 0 || n > remaining()) {
            throw new ProtocolException("message claims " + Integer.toUnsignedString(n) + " bytes where "
                    + remaining() + " are left");
        }
    }

    private void require(int n, String what) throws ProtocolException {
        if (remaining() < n) {
            throw new ProtocolException("message too short: expected " + what + ", " + remaining() + " bytes left");
        }
    }
}
