package io.pgloom.wire.protocol;

import static io.pgloom.wire.protocol.MessageReaderTest.bytes;
import static io.pgloom.wire.protocol.MessageReaderTest.int32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** StartupRequest and ErrorResponse decoding over {@link MessageReader}: their messages and leniency as before. */
class DecodersTest {

    private static StartupRequest startup(byte[] body) throws ProtocolException {
        return StartupRequest.decode(body, 0, body.length);
    }

    private static String refusal(byte[] body) {
        return assertThrows(ProtocolException.class, () -> startup(body)).getMessage();
    }

    @Test
    void acceptsTheSmallestStartupMessage() throws Exception {
        StartupRequest.Startup s = assertInstanceOf(StartupRequest.Startup.class,
                startup(bytes(int32(StartupRequest.PROTOCOL_3), "user", 0, "u", 0, 0)));
        assertEquals(Map.of("user", "u"), s.parameters());
        assertEquals("u", s.database());
        assertEquals(List.of(), s.protocolOptions());
    }

    @Test
    void keepsProtocolOptionsApart() throws Exception {
        StartupRequest.Startup s = (StartupRequest.Startup) startup(bytes(int32(StartupRequest.PROTOCOL_3 | 2),
                "user", 0, "u", 0, "_pq_.x", 0, "1", 0, 0));
        assertEquals(2, s.minorVersion());
        assertEquals(List.of("_pq_.x"), s.protocolOptions());
    }

    @Test
    void rejectsStartupLayoutDefects() {
        String layout = "invalid startup packet layout: expected terminator as last byte";
        assertEquals("invalid startup packet layout: too short", refusal(new byte[3]));
        assertEquals(layout, refusal(bytes(int32(StartupRequest.PROTOCOL_3))), "no terminator at all");
        assertEquals(layout, refusal(bytes(int32(StartupRequest.PROTOCOL_3), "user", 0, "u", 0)), "list not terminated");
        assertEquals(layout, refusal(bytes(int32(StartupRequest.PROTOCOL_3), "user", 0, "u")), "value not terminated");
        assertEquals(layout, refusal(bytes(int32(StartupRequest.PROTOCOL_3), "user")), "name not terminated");
        assertEquals(layout, refusal(bytes(int32(StartupRequest.PROTOCOL_3), "user", 0, "u", 0, 0, 0)), "NUL not last");
        assertEquals("no PostgreSQL user name specified in startup packet",
                refusal(bytes(int32(StartupRequest.PROTOCOL_3), 0)));
    }

    @Test
    void rejectsACancelOfTheWrongLengthAndAcceptsTheRightOne() throws Exception {
        assertEquals("invalid length of cancel request: 12", refusal(bytes(int32(StartupRequest.CANCEL_REQUEST), int32(1))));
        assertEquals(new StartupRequest.Cancel(7, -9),
                startup(bytes(int32(StartupRequest.CANCEL_REQUEST), int32(7), int32(-9))));
    }

    @Test
    void decodesErrorFieldsAndDefaults() {
        byte[] b = bytes("S", "FATAL", 0, "C", "28P01", 0, "M", "no", 0, "D", "why", 0, 0);
        assertEquals(new ErrorResponse("FATAL", "28P01", "no", "why"), ErrorResponse.decode(b, 0, b.length));
        assertEquals(new ErrorResponse("ERROR", SqlState.PROTOCOL_VIOLATION, "", null), ErrorResponse.decode(new byte[] {0}, 0, 1));
    }

    @Test
    void keepsTheCompleteFieldsOfAnUnterminatedError() {
        byte[] b = bytes("C", "28P01", 0, "M", "cut sho");
        Map<Character, String> f = ErrorResponse.fields(b, 0, b.length);
        assertEquals(Map.of('C', "28P01"), f);
        assertNull(ErrorResponse.fields(bytes("M"), 0, 1).get('M'), "a code byte without a value");
        assertEquals(Map.of('M', "x"), ErrorResponse.fields(bytes("M", "x", 0), 0, 3), "no final NUL: the end will do");
    }

    @Test
    void errorEncodingRoundTrips() {
        ErrorResponse e = new ErrorResponse("ERROR", "57014", "canceling statement", "d");
        byte[] m = e.encode();
        assertEquals(e, ErrorResponse.decode(m, 5, m.length));
    }
}
