package io.pgloom.wire.auth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class SaslPrepTest {

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static void assertPrepared(String expected, String password) {
        assertArrayEquals(utf8(expected), SaslPrep.prepare(password), () -> "SASLprep of " + escape(password));
    }

    /** The password could not be SASLprepped, so its raw UTF-8 bytes are used, as in PostgreSQL. */
    private static void assertRawFallback(String password) {
        assertNull(SaslPrep.saslPrep(utf8(password)), () -> escape(password) + " should be refused by SASLprep");
        assertArrayEquals(utf8(password), SaslPrep.prepare(password));
    }

    private static String escape(String s) {
        StringBuilder out = new StringBuilder();
        s.codePoints().forEach(c -> out.append(c < 0x7F && c >= 0x20 ? String.valueOf((char) c) : "\\u{" + Integer.toHexString(c) + "}"));
        return out.toString();
    }

    // RFC 4013 section 3's examples.

    @Test
    void asciiIsUnchanged() {
        assertPrepared("user", "user");
        assertPrepared("USER", "USER");
        assertPrepared("pencil", "pencil");
        assertPrepared("", "");
    }

    @Test
    void asciiWithControlCharactersIsStillUsedAsItIs() {
        // PostgreSQL's ASCII fast path; the full algorithm would prohibit \t and fall back to the
        // same bytes anyway.
        assertPrepared("a\tb", "a\tb");
    }

    @Test
    void softHyphenIsMappedToNothing() {
        assertPrepared("IX", "I\u00ADX");
    }

    @Test
    void compatibilityCharactersAreNormalized() {
        assertPrepared("IX", "\u2168"); // ROMAN NUMERAL NINE
        assertPrepared("a", "\u00AA"); // FEMININE ORDINAL INDICATOR
    }

    @Test
    void nonAsciiSpaceBecomesSpace() {
        assertPrepared("a b", "a\u00A0b");
        assertPrepared("a b", "a\u3000b");
    }

    @Test
    void zeroWidthSpaceBecomesSpaceAsInPostgresql() {
        // U+200B is in both C.1.2 and B.1; PostgreSQL applies the space rule first.
        assertPrepared("a b", "a\u200Bb");
    }

    @Test
    void alreadyNormalNonAsciiIsUnchanged() {
        assertPrepared("p\u00E4ssw\u00F6rd", "p\u00E4ssw\u00F6rd");
        assertPrepared("p\u00E4ss", "pa\u0308ss"); // composed by NFKC
    }

    @Test
    void prohibitedCharacterFallsBackToRawBytes() {
        assertRawFallback("\u2168\u0007"); // ASCII control after a non-ASCII char
        assertRawFallback("\u2168\uE000"); // private use
        assertRawFallback("\u2168\u200E"); // LEFT-TO-RIGHT MARK, C.8
        assertRawFallback("\u2168\u2FF0"); // ideographic description, C.7
    }

    @Test
    void codePointUnassignedInUnicode32FallsBackToRawBytes() {
        // Both are assigned in today's Unicode (so the JDK knows them) but not in 3.2, which is
        // what PostgreSQL's SASLprep tests against.
        assertRawFallback("\u2168\u0221");
        assertRawFallback("\u2168\uD83D\uDE00"); // U+1F600
    }

    @Test
    void onlyMappedToNothingFallsBackToRawBytes() {
        assertRawFallback("\u00AD");
    }

    @Test
    void rightToLeftStringIsAccepted() {
        assertPrepared("\u05D0\u05D1", "\u05D0\u05D1");
        assertPrepared("\u05D01\u05D1", "\u05D01\u05D1"); // a digit inside is fine
    }

    @Test
    void bidiViolationsFallBackToRawBytes() {
        assertRawFallback("\u0627\u0031"); // RFC 4013 example: RandALCat not last
        assertRawFallback("\u05D0a\u05D1"); // RandALCat mixed with LCat
        assertRawFallback("1\u05D0"); // RandALCat not first
    }

    @Test
    void invalidUtf8IsUsedAsRawBytes() {
        byte[] latin1 = {'p', (byte) 0xE4, 's', 's'};
        assertArrayEquals(latin1, SaslPrep.prepare(latin1));
        byte[] truncated = {'a', (byte) 0xE2, (byte) 0x85};
        assertArrayEquals(truncated, SaslPrep.prepare(truncated));
    }

    @Test
    void validUtf8BytesArePrepared() {
        assertArrayEquals(utf8("IX"), SaslPrep.prepare(utf8("\u2168")));
    }

    @Test
    void prepareDoesNotAliasItsInput() {
        byte[] in = utf8("abc");
        byte[] out = SaslPrep.prepare(in);
        out[0] = 'z';
        assertEquals('a', in[0]);
    }

    @Test
    void tablesHoldTheirRfc3454Boundaries() {
        assertTrue(SaslPrepTables.UNASSIGNED.contains(0x0221));
        assertFalse(SaslPrepTables.UNASSIGNED.contains(0x0220));
        assertTrue(SaslPrepTables.UNASSIGNED.contains(0xEFFFD));
        assertFalse(SaslPrepTables.UNASSIGNED.contains(0xEFFFE));
        assertTrue(SaslPrepTables.L_CAT.contains('A'));
        assertFalse(SaslPrepTables.L_CAT.contains('1'));
        assertTrue(SaslPrepTables.RAND_AL_CAT.contains(0xFEFC));
        assertFalse(SaslPrepTables.RAND_AL_CAT.contains(0xFEFD));
        assertTrue(SaslPrepTables.NON_CHARACTER.contains(0x10FFFF));
        assertEquals(396, SaslPrepTables.UNASSIGNED.rangeCount());
        assertEquals(34, SaslPrepTables.RAND_AL_CAT.rangeCount());
        assertEquals(360, SaslPrepTables.L_CAT.rangeCount());
    }

    @Test
    void codePointRangesLookUpInclusiveBounds() {
        CodePointRanges ranges = CodePointRanges.parse("0041 0061-007A 10000-10FFFF");
        assertFalse(ranges.contains(0x40));
        assertTrue(ranges.contains(0x41));
        assertFalse(ranges.contains(0x42));
        assertFalse(ranges.contains(0x60));
        assertTrue(ranges.contains(0x61));
        assertTrue(ranges.contains(0x7A));
        assertFalse(ranges.contains(0x7B));
        assertTrue(ranges.contains(0x10FFFF));
    }

    @Test
    void codePointRangesRefuseDisorder() {
        assertThrows(IllegalArgumentException.class, () -> CodePointRanges.parse("0061-007A 0041"));
        assertThrows(IllegalArgumentException.class, () -> CodePointRanges.parse("0061-007A 007A"));
        assertThrows(IllegalArgumentException.class, () -> CodePointRanges.parse("007A-0061"));
        assertEquals(1, CodePointRanges.parse("0041").rangeCount());
    }
}
