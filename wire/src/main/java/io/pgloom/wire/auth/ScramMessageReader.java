package io.pgloom.wire.auth;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/**
 * Reads one SCRAM message (RFC 5802 section 7): attributes {@code k=v} separated by commas, read
 * in the order the grammar fixes. Every defect is an {@link AuthFailure}, never an unchecked
 * exception. Single use, one thread.
 *
 * <p>The bytes are read as ISO-8859-1, one char per byte: the syntax is ASCII, and values such
 * as a non-UTF-8 user name survive unchanged (PostgreSQL treats them as opaque bytes too).
 */
final class ScramMessageReader {
    /** PostgreSQL's PG_MAX_AUTH_TOKEN_LENGTH; no real SCRAM message is near it. */
    static final int MAX_MESSAGE_LENGTH = 65535;

    private final String text;
    private final String what;
    private int position;
    /** Whether an attribute was read, so that the next one must follow a comma. */
    private boolean afterAttribute;

    ScramMessageReader(byte[] message, String what) throws AuthFailure {
        this.what = what;
        if (message == null || message.length == 0) {
            throw new AuthFailure(what + " is empty");
        }
        if (message.length > MAX_MESSAGE_LENGTH) {
            throw new AuthFailure(what + " is longer than " + MAX_MESSAGE_LENGTH + " bytes");
        }
        this.text = new String(message, StandardCharsets.ISO_8859_1);
        // PostgreSQL reads the message as a C string, so a NUL would silently cut it short there.
        if (text.indexOf('\0') >= 0) {
            throw new AuthFailure(what + " contains a NUL byte");
        }
    }

    int position() {
        return position;
    }

    /** The message text from {@code start} up to the current position (both as read). */
    String textSince(int start) {
        return text.substring(start, position);
    }

    boolean atEnd() {
        return position == text.length();
    }

    /** Consumes {@code c} or fails. */
    void expect(char c, String meaning) throws AuthFailure {
        if (atEnd() || text.charAt(position) != c) {
            throw new AuthFailure(what + ": expected " + meaning);
        }
        position++;
    }

    /** Whether the next attribute is named {@code name}. */
    boolean nextIs(char name) {
        int at = afterAttribute ? position + 1 : position;
        return at + 1 < text.length() && text.charAt(at) == name && text.charAt(at + 1) == '=';
    }

    /**
     * Reads attribute {@code name} and returns its value (maybe empty). Attributes after the
     * first are preceded by a comma.
     */
    String read(char name, String meaning) throws AuthFailure {
        if (afterAttribute) {
            expect(',', meaning + " (" + name + "=)");
        }
        if (position + 1 >= text.length() || text.charAt(position) != name || text.charAt(position + 1) != '=') {
            throw new AuthFailure(what + ": missing " + meaning + " (" + name + "=)");
        }
        int start = position + 2;
        int end = text.indexOf(',', start);
        position = end < 0 ? text.length() : end;
        afterAttribute = true;
        return text.substring(start, position);
    }

    /** Consumes {@code c} if it comes next. */
    boolean tryExpect(char c) {
        if (atEnd() || text.charAt(position) != c) {
            return false;
        }
        position++;
        return true;
    }

    /**
     * Skips attributes, which RFC 5802 allows as extensions and PostgreSQL ignores, up to the
     * next attribute named {@code stopAt}, or to the end when {@code stopAt} is 0.
     */
    void skipExtensions(char stopAt) throws AuthFailure {
        while (!atEnd() && !(stopAt != 0 && nextIs(stopAt))) {
            expect(',', "',' between attributes");
            char name = atEnd() ? '\0' : text.charAt(position);
            if (!(name >= 'a' && name <= 'z' || name >= 'A' && name <= 'Z')) {
                throw new AuthFailure(what + ": malformed attribute");
            }
            position++;
            expect('=', "'=' after an attribute name");
            int end = text.indexOf(',', position);
            position = end < 0 ? text.length() : end;
            afterAttribute = true;
        }
    }

    void expectEnd() throws AuthFailure {
        if (!atEnd()) {
            throw new AuthFailure(what + ": unexpected data after the last attribute");
        }
    }

    /** A nonce: one or more printable ASCII characters other than ',' (RFC 5802 "printable"). */
    String nonce(String value) throws AuthFailure {
        if (value.isEmpty()) {
            throw new AuthFailure(what + ": empty nonce");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c < 0x21 || c > 0x7E || c == ',') {
                throw new AuthFailure(what + ": nonce has a character that is not printable ASCII");
            }
        }
        return value;
    }

    /** Base64 that must decode to {@code length} bytes, or to at least one byte if length is -1. */
    byte[] base64(String value, int length, String meaning) throws AuthFailure {
        byte[] decoded;
        try {
            decoded = Base64.getDecoder().decode(value);
        } catch (IllegalArgumentException e) {
            throw new AuthFailure(what + ": " + meaning + " is not valid base64");
        }
        if (length < 0 && decoded.length == 0) {
            throw new AuthFailure(what + ": " + meaning + " is empty");
        }
        if (length >= 0 && decoded.length != length) {
            throw new AuthFailure(what + ": " + meaning + " is " + decoded.length + " bytes, not " + length);
        }
        return decoded;
    }

    /**
     * Checks a SCRAM user name (saslname): ',' and '=' appear only as "=2C" and "=3D". PostgreSQL
     * ignores the name (the startup packet's user counts), but a bad escape is still malformed.
     */
    void saslName(String value) throws AuthFailure {
        for (int i = value.indexOf('='); i >= 0; i = value.indexOf('=', i + 1)) {
            if (!value.startsWith("=2C", i) && !value.startsWith("=3D", i)) {
                throw new AuthFailure(what + ": user name has an '=' that is not =2C or =3D");
            }
        }
    }
}
