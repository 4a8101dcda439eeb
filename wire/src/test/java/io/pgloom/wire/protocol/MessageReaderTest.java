package io.pgloom.wire.protocol;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The one cursor the decoders read integers and strings with, tested with byte scripts: every
 * "rejects" test has an "accepts the smallest well-formed" twin next to it.
 */
class MessageReaderTest {

    static byte[] bytes(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object p : parts) {
            switch (p) {
                case byte[] b -> out.writeBytes(b);
                case String s -> out.writeBytes(s.getBytes(StandardCharsets.UTF_8));
                case Integer i -> out.write(i);
                default -> throw new IllegalArgumentException(String.valueOf(p));
            }
        }
        return out.toByteArray();
    }

    static byte[] int32(int v) {
        return new byte[] {(byte) (v >>> 24), (byte) (v >>> 16), (byte) (v >>> 8), (byte) v};
    }

    static byte[] int16(int v) {
        return new byte[] {(byte) (v >>> 8), (byte) v};
    }

    @Test
    void readsIntegersBigEndianAndInt16Unsigned() throws Exception {
        MessageReader r = new MessageReader(bytes(int32(-2), int16(0xfffe), 7));
        assertEquals(-2, r.int32());
        assertEquals(0xfffe, r.int16());
        assertEquals(7, r.byte1());
        assertTrue(r.atEnd());
    }

    @Test
    void rejectsAnInt32CutShort() {
        MessageReader r = new MessageReader(new byte[3]);
        ProtocolException e = assertThrows(ProtocolException.class, r::int32);
        assertEquals("message too short: expected an Int32, 3 bytes left", e.getMessage());
        assertEquals(3, r.remaining(), "a failed read consumes nothing");
    }

    @Test
    void acceptsTheSmallestInt32() throws Exception {
        assertEquals(1, new MessageReader(int32(1)).int32());
    }

    @Test
    void rejectsAnInt16AndAByteCutShort() {
        assertThrows(ProtocolException.class, () -> new MessageReader(new byte[1]).int16());
        assertThrows(ProtocolException.class, () -> new MessageReader(new byte[0]).byte1());
    }

    @Test
    void acceptsTheSmallestInt16AndByte() throws Exception {
        assertEquals(0x0102, new MessageReader(new byte[] {1, 2}).int16());
        assertEquals(0xff, new MessageReader(new byte[] {-1}).byte1());
    }

    @Test
    void readsOnlyWithinItsRange() throws Exception {
        byte[] b = bytes("xx", "ab", 0, "yy");
        MessageReader r = new MessageReader(b, 2, 5);
        assertEquals("ab", r.cstring());
        assertTrue(r.atEnd());
        assertEquals(-1, r.peek());
        assertThrows(IndexOutOfBoundsException.class, () -> new MessageReader(b, 3, b.length + 1));
    }

    @Test
    void rejectsAStringWithoutTerminator() {
        MessageReader r = new MessageReader(bytes("user"));
        assertFalse(r.hasCString());
        ProtocolException e = assertThrows(ProtocolException.class, r::cstring);
        assertEquals("unterminated string in message", e.getMessage());
    }

    @Test
    void acceptsTheSmallestString() throws Exception {
        MessageReader r = new MessageReader(new byte[] {0});
        assertTrue(r.hasCString());
        assertEquals("", r.cstring());
        assertTrue(r.atEnd());
    }

    @Test
    void decodesStringsAsUtf8() throws Exception {
        assertEquals("żółw", new MessageReader(bytes("żółw", 0)).cstring());
    }

    @Test
    void rejectsALengthBeyondTheMessageBeforeAllocating() throws Exception {
        MessageReader r = new MessageReader(bytes(int32(5), "abcd"));
        int claimed = r.int32();
        ProtocolException e = assertThrows(ProtocolException.class, () -> r.bytes(claimed));
        assertEquals("message claims 5 bytes where 4 are left", e.getMessage());
    }

    @Test
    void rejectsALengthAbove2Gib() throws Exception {
        MessageReader r = new MessageReader(bytes(int32(0xffff_fff0), "abcd"));
        int claimed = r.int32();
        ProtocolException e = assertThrows(ProtocolException.class, () -> r.bytes(claimed));
        assertEquals("message claims 4294967280 bytes where 4 are left", e.getMessage(), "read as unsigned");
    }

    @Test
    void acceptsALengthThatFillsTheMessageExactly() throws Exception {
        MessageReader r = new MessageReader(bytes(int32(4), "abcd"));
        assertArrayEquals(bytes("abcd"), r.bytes(r.int32()));
        assertTrue(r.atEnd());
        assertArrayEquals(new byte[0], new MessageReader(new byte[0]).bytes(0));
    }

    @Test
    void rejectsASkipBeyondTheMessageOrNegative() throws Exception {
        MessageReader r = new MessageReader(bytes("abcd"));
        ProtocolException e = assertThrows(ProtocolException.class, () -> r.skip(5));
        assertEquals("message claims 5 bytes where 4 are left", e.getMessage());
        assertThrows(ProtocolException.class, () -> r.skip(-1));
        assertEquals(4, r.remaining(), "a refused skip moves nothing");
    }

    @Test
    void acceptsASkipThatEndsTheMessageExactly() throws Exception {
        MessageReader r = new MessageReader(bytes("abcd", 0));
        r.skip(4);
        assertEquals("", r.cstring());
        assertTrue(r.atEnd());
        new MessageReader(new byte[0]).skip(0);
    }

    @Test
    void indexOfNulLooksOnlyWithinItsRange() {
        byte[] b = bytes("a", 0, "bc", 0);
        assertEquals(1, MessageReader.indexOfNul(b, 0, b.length));
        assertEquals(4, MessageReader.indexOfNul(b, 2, b.length));
        assertEquals(-1, MessageReader.indexOfNul(b, 2, 4), "the NUL at 4 is past the range");
        assertEquals(-1, MessageReader.indexOfNul(b, 3, 3), "an empty range holds none");
    }

    @Test
    void restTakesWhatIsLeft() throws Exception {
        MessageReader r = new MessageReader(bytes(int32(11), "r=abc"));
        r.int32();
        assertArrayEquals(bytes("r=abc"), r.rest());
        assertArrayEquals(new byte[0], r.rest());
    }

    @Test
    void cstringOrRestTakesTheRestWhenUnterminatedAndNeverThrows() {
        MessageReader r = new MessageReader(bytes("a", 0, "b"));
        assertEquals("a", r.cstringOrRest());
        assertEquals("b", r.cstringOrRest());
        assertEquals("", r.cstringOrRest(), "at the end: empty");
    }

    @Test
    void parameterStatusKeepsItsLenientReading() {
        assertEquals(new ParameterStatus("TimeZone", "UTC"), ParameterStatus.decode(bytes("TimeZone", 0, "UTC", 0), 0, 13));
        assertEquals(new ParameterStatus("TimeZone", "UTC"), ParameterStatus.decode(bytes("TimeZone", 0, "UTC"), 0, 12));
        assertEquals(new ParameterStatus("TimeZone", ""), ParameterStatus.decode(bytes("TimeZone"), 0, 8));
        assertEquals(new ParameterStatus("", ""), ParameterStatus.decode(new byte[0], 0, 0));
    }
}
