package io.pgloom.wire.protocol;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Builds one protocol message: type byte, length, body. For messages pgloom composes itself
 * (errors, authentication, startup); relayed traffic is never rebuilt.
 */
public final class MessageBuilder {
    private byte[] buf = new byte[64];
    private int len;
    private final boolean typed;

    /** A typed message ({@code type} then length). */
    public MessageBuilder(char type) {
        buf[0] = (byte) type;
        len = 5;
        typed = true;
    }

    /** An untyped startup-phase message (length first): StartupMessage, CancelRequest, SSLRequest. */
    public MessageBuilder() {
        len = 4;
        typed = false;
    }

    private void ensure(int more) {
        if (len + more > buf.length) {
            buf = Arrays.copyOf(buf, Math.max(buf.length * 2, len + more));
        }
    }

    public MessageBuilder byte1(int v) {
        ensure(1);
        buf[len++] = (byte) v;
        return this;
    }

    public MessageBuilder int16(int v) {
        ensure(2);
        buf[len++] = (byte) (v >>> 8);
        buf[len++] = (byte) v;
        return this;
    }

    public MessageBuilder int32(int v) {
        ensure(4);
        Bytes.putInt32(buf, len, v);
        len += 4;
        return this;
    }

    public MessageBuilder bytes(byte[] b) {
        ensure(b.length);
        System.arraycopy(b, 0, buf, len, b.length);
        len += b.length;
        return this;
    }

    /** A NUL-terminated UTF-8 string. */
    public MessageBuilder cstring(String s) {
        return bytes(s.getBytes(StandardCharsets.UTF_8)).byte1(0);
    }

    public byte[] build() {
        byte[] out = Arrays.copyOf(buf, len);
        int lengthAt = typed ? 1 : 0;
        Bytes.putInt32(out, lengthAt, len - lengthAt);
        return out;
    }
}
