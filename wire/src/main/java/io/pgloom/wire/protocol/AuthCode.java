package io.pgloom.wire.protocol;

/**
 * The request codes of an Authentication ('R') message that pgloom sends to clients or answers as
 * a client of PostgreSQL. A code outside this set (Kerberos 2, GSS 7 and 8, SSPI 9) is one pgloom
 * does not speak: {@link #of} says so with null, and the caller refuses with the number.
 */
public enum AuthCode {
    OK(0),
    CLEARTEXT_PASSWORD(3),
    MD5_PASSWORD(5),
    SASL(10),
    SASL_CONTINUE(11),
    SASL_FINAL(12);

    private final int code;

    AuthCode(int code) {
        this.code = code;
    }

    /** The Int32 that follows the message length on the wire. */
    public int code() {
        return code;
    }

    /** The code named {@code code}, or null for one pgloom does not support. */
    public static AuthCode of(int code) {
        for (AuthCode c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        return null;
    }
}
