package io.pgloom.server.frontend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.wire.protocol.ProtocolException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** The startup packet's parameters and its {@code options}, as PgBouncer takes them. */
class TrackedParametersTest {
    private final TrackedParameters tracked = new TrackedParameters(List.of());

    private String[] take(String options, Set<String> ignored) throws ProtocolException {
        String[] values = new String[tracked.size()];
        tracked.takeStartup(Map.of("user", "u", "options", options), ignored, values);
        return values;
    }

    private String value(String[] values, String name) {
        return values[tracked.indexOf(name)];
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "-c timezone=Europe/Lisbon  -c    datestyle=German,\\ YMD | Europe/Lisbon | German, YMD",
        "-ctimezone=Europe/Lisbon  -cdatestyle=German,\\ YMD     | Europe/Lisbon | German, YMD",
        "--timezone=Europe/Lisbon  --datestyle=German,\\ YMD     | Europe/Lisbon | German, YMD",
        "-c t\\imezone=\\E\\u\\r\\o\\pe/Lisbon -c dat\\estyle\\=\\Ge\\rman,\\ YMD | Europe/Lisbon | German, YMD",
        "'  -c    DateStyle=ISO  '                               |               | ISO",
    })
    void settingsInOptionsAreTakenWithPostgresqlsEscapes(String options, String timezone, String datestyle) throws Exception {
        String[] values = take(options, Set.of());
        assertEquals(timezone, value(values, "timezone"));
        assertEquals(datestyle, value(values, "datestyle"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"-d", "-c timezone", "-c", "timezone=UTC", "-c =x"})
    void anythingButASettingIsRefused(String options) {
        ProtocolException e = assertThrows(ProtocolException.class, () -> take(options, Set.of()));
        assertEquals("unsupported options startup parameter: only '-c config=val' and '--config=val' are allowed",
                e.getMessage());
    }

    @Test
    void anUntrackedSettingIsRefusedUnlessIgnored() throws Exception {
        ProtocolException e = assertThrows(ProtocolException.class, () -> take("-c enable_seqscan=false", Set.of()));
        assertEquals("unsupported startup parameter in options: enable_seqscan", e.getMessage());
        String[] values = take("-c extra_float_digits=2 -c timezone=UTC", Set.of("extra_float_digits"));
        assertEquals("UTC", value(values, "timezone"), "an ignored setting is dropped, the others taken");
        values = take("-c enable_seqscan=false -c timezone=UTC", Set.of("options"));
        assertEquals("UTC", value(values, "timezone"), "options ignored: untracked settings dropped, tracked still taken");
        assertNull(value(values, "datestyle"));
    }

    @Test
    void equalValuesShareOneInstanceUpToTheLimit() throws Exception {
        String[] a = take("-c timezone=UTC", Set.of());
        String[] b = take("-c timezone=UTC", Set.of());
        assertSame(value(a, "timezone"), value(b, "timezone"), "two clients' equal values are one instance");
        String fromServer = new String("UTC".toCharArray());
        assertSame(value(a, "timezone"), tracked.canonical(fromServer), "and a server's equal value the same one");
        assertNull(tracked.canonical(null));
        for (int i = 0; i < TrackedParameters.CANONICAL_LIMIT; i++) {
            tracked.canonical("filler-" + i); // fills the table
        }
        String late = new String("never-seen".toCharArray());
        assertSame(late, tracked.canonical(late), "past the limit a new value is kept as it came");
        assertEquals("never-seen", tracked.canonical(new String("never-seen".toCharArray())));
    }

    @Test
    void aLoginReplyIsEncodedOnceForLoginsThatBringTheSameValues() throws Exception {
        Map<String, String> welcome = new LinkedHashMap<>(Map.of("server_version", "17.5", "TimeZone", "UTC"));
        welcome.put("application_name", "");
        String[] first = take("-c timezone=Europe/Lisbon", Set.of());
        byte[] a = tracked.welcomeMessages(welcome, first);
        assertEquals("Europe/Lisbon", value(first, "TimeZone"), "the client's own value");
        assertEquals("", value(first, "application_name"), "filled in from the welcome");
        String[] second = take("-c timezone=Europe/Lisbon", Set.of());
        byte[] b = tracked.welcomeMessages(welcome, second);
        assertSame(a, b, "the same reply, encoded once");
        assertEquals(Arrays.asList(first), Arrays.asList(second), "and the same values filled in");
        String text = new String(a, StandardCharsets.ISO_8859_1);
        assertTrue(text.contains("TimeZone\0Europe/Lisbon\0"), text);
        assertTrue(text.contains("server_version\u000017.5\0"), text);
        byte[] other = tracked.welcomeMessages(welcome, take("-c timezone=Asia/Tokyo", Set.of()));
        assertTrue(new String(other, StandardCharsets.ISO_8859_1).contains("Asia/Tokyo"));
        byte[] otherPool = tracked.welcomeMessages(new LinkedHashMap<>(Map.of("server_version", "16.1")),
                take("-c timezone=Asia/Tokyo", Set.of()));
        assertTrue(new String(otherPool, StandardCharsets.ISO_8859_1).contains("16.1"),
                "another pool's welcome is encoded anew");
    }
}
