package io.pgloom.embedded;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The {@code postmaster.pid} lock file a running server keeps in its data directory.
 *
 * <p>Its lines (PostgreSQL's {@code pidfile.h}): 1 postmaster pid, 2 data directory, 3 start time
 * (epoch seconds), 4 port, 5 first socket directory, 6 first listen address, 7 shared memory key,
 * 8 status: {@code starting}, {@code stopping}, {@code ready} (accepting connections) or
 * {@code standby} (a hot standby accepting read-only connections). Lines 5 to 8 appear only once
 * the server got that far, and the file survives a SIGKILL, so a stale one must be told apart by
 * its pid.
 */
record PostmasterPidFile(long pid, int port, String status) {

    static final String NAME = "postmaster.pid";

    static Optional<PostmasterPidFile> read(Path dataDirectory) {
        List<String> lines;
        try {
            lines = Files.readAllLines(dataDirectory.resolve(NAME));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            return Optional.empty(); // caught half-written, or being removed: ask again later
        }
        if (lines.isEmpty()) {
            return Optional.empty();
        }
        try {
            long pid = Long.parseLong(lines.get(0).strip());
            int port = lines.size() > 3 && !lines.get(3).isBlank() ? Integer.parseInt(lines.get(3).strip()) : -1;
            String status = lines.size() > 7 ? lines.get(7).strip() : "";
            return Optional.of(new PostmasterPidFile(pid, port, status));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** The server accepts connections (read-only ones, for a hot standby). */
    boolean acceptsConnections() {
        return status.equals("ready") || status.equals("standby");
    }
}
