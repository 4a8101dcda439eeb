package io.pgloom.wire.auth;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.Arrays;

/**
 * SASLprep (RFC 4013) of a password before SCRAM hashing, exactly as PostgreSQL and libpq do it
 * (src/common/saslprep.c), because the stored secret, the client and pgloom must all hash the same
 * bytes:
 *
 * <ul>
 *   <li>a pure-ASCII password is used as it is;
 *   <li>a password that is not valid UTF-8, or that SASLprep prohibits, is not an error: it is
 *       used as its raw bytes (PostgreSQL allows non-UTF-8 passwords this way);
 *   <li>otherwise: non-ASCII spaces become U+0020, "commonly mapped to nothing" characters go,
 *       then NFKC. The prohibited-output, unassigned (Unicode 3.2) and bidi checks run on the
 *       mapped code points before NFKC, where RFC 3454 says after; PostgreSQL does it this way,
 *       and matching PostgreSQL is the point.
 * </ul>
 *
 * <p>Stateless; safe from any thread.
 */
public final class SaslPrep {
    private SaslPrep() {}

    /**
     * The bytes SCRAM hashes for {@code password}. A Java string cannot hold the non-UTF-8
     * passwords PostgreSQL also allows; use {@link #prepare(byte[])} when the raw bytes are known.
     * Unpaired surrogates, which UTF-8 cannot encode, become '?'.
     */
    public static byte[] prepare(String password) {
        return prepare(password.getBytes(StandardCharsets.UTF_8));
    }

    /** The bytes SCRAM hashes for a password given as raw bytes (normally UTF-8). */
    public static byte[] prepare(byte[] password) {
        String prepared = isAscii(password) ? null : saslPrep(password);
        return prepared == null ? password.clone() : prepared.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * SASLprep of UTF-8 bytes, or null when the raw bytes must be used instead (invalid UTF-8, a
     * prohibited or unassigned code point, a bidi violation, or nothing left after mapping).
     */
    static String saslPrep(byte[] utf8) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(utf8))
                    .toString();
        } catch (CharacterCodingException e) {
            return null;
        }
        int[] mapped = map(text.codePoints().toArray());
        if (mapped.length == 0 || !allowed(mapped) || !bidiOk(mapped)) {
            return null;
        }
        return Normalizer.normalize(new String(mapped, 0, mapped.length), Normalizer.Form.NFKC);
    }

    /**
     * RFC 4013 section 2.1: non-ASCII spaces (C.1.2) to U+0020, B.1 to nothing. U+200B is in both
     * tables; the space rule wins, as in PostgreSQL.
     */
    private static int[] map(int[] codePoints) {
        int[] out = new int[codePoints.length];
        int n = 0;
        for (int cp : codePoints) {
            if (SaslPrepTables.NON_ASCII_SPACE.contains(cp)) {
                out[n++] = ' ';
            } else if (!SaslPrepTables.MAPPED_TO_NOTHING.contains(cp)) {
                out[n++] = cp;
            }
        }
        return Arrays.copyOf(out, n);
    }

    /** RFC 4013 sections 2.3 and 2.5: no prohibited output, no code point unassigned in Unicode 3.2. */
    private static boolean allowed(int[] codePoints) {
        for (int cp : codePoints) {
            if (SaslPrepTables.UNASSIGNED.contains(cp)) {
                return false;
            }
            for (CodePointRanges table : SaslPrepTables.PROHIBITED) {
                if (table.contains(cp)) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * RFC 3454 section 6: a string with any RandALCat character has no LCat character and starts
     * and ends with a RandALCat character.
     */
    private static boolean bidiOk(int[] codePoints) {
        boolean anyRandAL = false;
        for (int cp : codePoints) {
            anyRandAL |= SaslPrepTables.RAND_AL_CAT.contains(cp);
        }
        if (!anyRandAL) {
            return true;
        }
        for (int cp : codePoints) {
            if (SaslPrepTables.L_CAT.contains(cp)) {
                return false;
            }
        }
        return SaslPrepTables.RAND_AL_CAT.contains(codePoints[0])
                && SaslPrepTables.RAND_AL_CAT.contains(codePoints[codePoints.length - 1]);
    }

    private static boolean isAscii(byte[] bytes) {
        for (byte b : bytes) {
            if (b < 0) {
                return false;
            }
        }
        return true;
    }
}
