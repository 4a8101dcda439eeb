package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.config.SettingsTable;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The README's settings table is generated from the settings table in code; they must agree. */
class ReadmeTest {

    @Test
    void settingsTableMatchesTheCode() throws Exception {
        Path readme = Path.of("..", "README.md");
        assertTrue(Files.exists(readme), "README.md at the repository root");
        String text = Files.readString(readme);
        String begin = "<!-- settings-table:begin -->\n";
        String end = "<!-- settings-table:end -->";
        int from = text.indexOf(begin);
        int to = text.indexOf(end);
        assertTrue(from >= 0 && to > from, "README has the settings-table markers");
        String expected = SettingsTable.markdown();
        Files.writeString(Path.of("target", "settings-table.md"), expected);
        assertEquals(expected, text.substring(from + begin.length(), to),
                "README settings table is stale: replace it with tests/target/settings-table.md");
    }
}
