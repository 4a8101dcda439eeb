package io.pgloom.wire.protocol;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * An ErrorResponse ('E') or NoticeResponse ('N'): severity, SQLSTATE, message and optional detail.
 * Decoding keeps every field so a server's error can be passed on to a client unchanged.
 */
public record ErrorResponse(String severity, String sqlState, String message, String detail) {

    public static ErrorResponse fatal(String sqlState, String message) {
        return new ErrorResponse("FATAL", sqlState, message, null);
    }

    public static ErrorResponse error(String sqlState, String message) {
        return new ErrorResponse("ERROR", sqlState, message, null);
    }

    /** A NoticeResponse from pgloom itself: severity NOTICE, SQLSTATE 00000 (successful completion). */
    public static ErrorResponse notice(String message) {
        return new ErrorResponse("NOTICE", "00000", message, null);
    }

    /** The message: a NoticeResponse ('N') for severity NOTICE, an ErrorResponse ('E') otherwise. */
    public byte[] encode() {
        MessageBuilder m = new MessageBuilder(severity.equals("NOTICE") ? 'N' : 'E')
                .byte1('S').cstring(severity)
                .byte1('V').cstring(severity)
                .byte1('C').cstring(sqlState)
                .byte1('M').cstring(message);
        if (detail != null) {
            m.byte1('D').cstring(detail);
        }
        return m.byte1(0).build();
    }

    /** Decodes the fields of an 'E' or 'N' body (the bytes after the length). */
    public static Map<Character, String> fields(byte[] b, int off, int end) {
        Map<Character, String> fields = new LinkedHashMap<>();
        MessageReader r = new MessageReader(b, off, end);
        try {
            // Fields until the terminating NUL (or the end, if a sender left it out).
            while (r.peek() > 0) {
                char code = (char) r.byte1();
                fields.put(code, r.cstring());
            }
        } catch (ProtocolException unterminated) {
            // An unterminated last field: keep those that were complete. The error must still
            // reach the client, so a sloppy sender costs a field, not the message.
        }
        return fields;
    }

    public static ErrorResponse decode(byte[] b, int off, int end) {
        Map<Character, String> f = fields(b, off, end);
        return new ErrorResponse(f.getOrDefault('S', "ERROR"), f.getOrDefault('C', SqlState.PROTOCOL_VIOLATION),
                f.getOrDefault('M', ""), f.get('D'));
    }

    @Override
    public String toString() {
        return severity + " " + sqlState + " " + message;
    }
}
