package io.pgloom.wire.protocol;

import java.util.List;

/** The backend (server → client) messages pgloom composes itself. Everything else is relayed. */
public final class Backend {
    private Backend() {
    }

    public static byte[] authenticationOk() {
        return new MessageBuilder('R').int32(AuthCode.OK.code()).build();
    }

    public static byte[] authenticationCleartext() {
        return new MessageBuilder('R').int32(AuthCode.CLEARTEXT_PASSWORD.code()).build();
    }

    public static byte[] authenticationMd5(byte[] salt) {
        return new MessageBuilder('R').int32(AuthCode.MD5_PASSWORD.code()).bytes(salt).build();
    }

    public static byte[] authenticationSasl(List<String> mechanisms) {
        MessageBuilder m = new MessageBuilder('R').int32(AuthCode.SASL.code());
        mechanisms.forEach(m::cstring);
        return m.byte1(0).build();
    }

    public static byte[] authenticationSaslContinue(byte[] data) {
        return new MessageBuilder('R').int32(AuthCode.SASL_CONTINUE.code()).bytes(data).build();
    }

    public static byte[] authenticationSaslFinal(byte[] data) {
        return new MessageBuilder('R').int32(AuthCode.SASL_FINAL.code()).bytes(data).build();
    }

    public static byte[] parameterStatus(String name, String value) {
        return new MessageBuilder('S').cstring(name).cstring(value).build();
    }

    public static byte[] backendKeyData(int pid, int secret) {
        return new MessageBuilder('K').int32(pid).int32(secret).build();
    }

    public static byte[] readyForQuery(char status) {
        return new MessageBuilder('Z').byte1(status).build();
    }

    /** NegotiateProtocolVersion: the newest minor version we speak and the options we ignored. */
    public static byte[] negotiateProtocolVersion(int newestMinor, List<String> unsupportedOptions) {
        MessageBuilder m = new MessageBuilder('v').int32((3 << 16) | newestMinor).int32(unsupportedOptions.size());
        unsupportedOptions.forEach(m::cstring);
        return m.build();
    }
}
