package io.pgloom.wire.protocol;

/**
 * A ParameterStatus ('S'): the server's current value of a setting it reports (server_version,
 * client_encoding, application_name, ...), at login and whenever the value changes. pgloom builds its own with
 * {@link Backend#parameterStatus}.
 */
public record ParameterStatus(String name, String value) {

    /**
     * Decodes the body at {@code b[from, to)}. Lenient on purpose, as pgloom always was: a missing
     * terminator gives the value up to the end (or "" when even the name is unterminated), so a
     * server's quirk costs a wrong value, not the connection.
     */
    public static ParameterStatus decode(byte[] b, int from, int to) {
        MessageReader r = new MessageReader(b, from, to);
        return new ParameterStatus(r.cstringOrRest(), r.cstringOrRest());
    }
}
