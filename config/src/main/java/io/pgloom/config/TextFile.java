package io.pgloom.config;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads a configuration file (ini, userlist, hba, ident) as UTF-8 lines, naming the line of any undecodable bytes. */
public final class TextFile {

    private TextFile() {
    }

    /**
     * @param shown how the file is named in messages
     * @throws ConfigException when the file cannot be read or is not UTF-8; decoding with
     *                         replacement characters would silently change passwords
     */
    public static List<String> lines(Path file, String shown) throws ConfigException {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new ConfigException(shown, "no such file");
        } catch (IOException e) {
            throw new ConfigException(shown, "cannot read: " + e.getMessage());
        }
        var decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        List<String> lines = new ArrayList<>();
        int start = 0;
        for (int i = 0; i <= bytes.length; i++) {
            if (i == bytes.length || bytes[i] == '\n') {
                if (i == bytes.length && start == i && !lines.isEmpty()) {
                    break;
                }
                int end = i > start && bytes[i - 1] == '\r' ? i - 1 : i;
                try {
                    lines.add(decoder.decode(ByteBuffer.wrap(bytes, start, end - start)).toString());
                } catch (CharacterCodingException e) {
                    throw new ConfigException(new Location(shown, lines.size() + 1), "not valid UTF-8");
                }
                start = i + 1;
            }
        }
        if (!lines.isEmpty() && lines.getFirst().startsWith("\uFEFF")) {
            lines.set(0, lines.getFirst().substring(1));
        }
        return lines;
    }
}
