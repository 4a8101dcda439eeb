package io.pgloom.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The operating-system account that initdb and postgres run as.
 *
 * <p>PostgreSQL refuses to run as root ("root" execution of the PostgreSQL server is not
 * permitted), and CI runs everything as root. So when this JVM is root we pick an unprivileged
 * account, {@code postgres} if the machine has one, else {@code nobody}, and start every
 * PostgreSQL program through {@code setpriv}, falling back to {@code runuser}. As an ordinary
 * user we run the programs directly and every method here that changes ownership does nothing.
 *
 * <p>Why {@code setpriv} first: it changes uid/gid and then {@code exec}s, so the process the JVM
 * holds <em>is</em> the postmaster, and {@link Process#pid()} is the pid that signals must reach.
 * {@code runuser} instead forks and waits (it is a PAM session): the JVM would hold runuser, a
 * SIGINT sent to it would not become a fast shutdown (it answers SIGTERM with SIGTERM to the
 * child and a SIGKILL two seconds later), and killing it would orphan the postmaster. Either way
 * {@link EmbeddedPostgres} signals the postmaster pid it reads from {@code postmaster.pid}, never
 * the wrapper, so both launchers behave the same.
 */
final class PostgresAccount {

    private static final long ROOT_UID = 0;

    private final String name;
    private final int uid;
    private final int gid;
    /** {@code setpriv}/{@code runuser} prefix, empty when we run as ourselves. */
    private final List<String> launcher;

    private PostgresAccount(String name, int uid, int gid, List<String> launcher) {
        this.name = name;
        this.uid = uid;
        this.gid = gid;
        this.launcher = List.copyOf(launcher);
    }

    private static PostgresAccount forThisProcess;

    /** The account for this JVM: itself, or an unprivileged one when the JVM is root. */
    static synchronized PostgresAccount forThisProcess() throws IOException {
        if (forThisProcess == null) {
            forThisProcess = lookUp();
        }
        return forThisProcess;
    }

    private static PostgresAccount lookUp() throws IOException {
        if (!isRoot()) {
            String me = ProcessHandle.current().info().user().orElse(System.getProperty("user.name"));
            return new PostgresAccount(me, -1, -1, List.of());
        }
        PasswdEntry entry = unprivilegedAccount();
        Optional<Path> setpriv = onPath("setpriv");
        if (setpriv.isPresent()) {
            return new PostgresAccount(entry.name(), entry.uid(), entry.gid(), List.of(
                    setpriv.get().toString(), "--reuid=" + entry.uid(), "--regid=" + entry.gid(),
                    "--init-groups", "--"));
        }
        return viaRunuser(entry);
    }

    /** Root's fallback when setpriv is missing; also lets tests exercise the forking launcher. */
    static PostgresAccount viaRunuser() throws IOException {
        return viaRunuser(unprivilegedAccount());
    }

    private static PostgresAccount viaRunuser(PasswdEntry entry) throws IOException {
        Optional<Path> runuser = onPath("runuser");
        if (runuser.isEmpty()) {
            throw new IOException("running as root, and PostgreSQL refuses to run as root, but neither setpriv nor"
                    + " runuser (util-linux) is installed to run it as '" + entry.name() + "'");
        }
        return new PostgresAccount(entry.name(), entry.uid(), entry.gid(),
                List.of(runuser.get().toString(), "-u", entry.name(), "--"));
    }

    private static PasswdEntry unprivilegedAccount() throws IOException {
        return PasswdEntry.lookup("postgres")
                .or(() -> PasswdEntry.lookup("nobody"))
                .orElseThrow(() -> new IOException(
                        "running as root, and PostgreSQL refuses to run as root, but this machine has neither a"
                                + " 'postgres' nor a 'nobody' account to run it as (useradd --system postgres)"));
    }

    static boolean isRoot() {
        try {
            // /proc/self belongs to the effective uid of the process looking at it.
            return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue() == ROOT_UID;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "root".equals(ProcessHandle.current().info().user().orElse(System.getProperty("user.name")));
        }
    }

    String name() {
        return name;
    }

    /** True when PostgreSQL runs as another account than this JVM's (the JVM is root). */
    boolean switchesUser() {
        return !launcher.isEmpty();
    }

    /** {@code command} prefixed so it runs as this account. */
    List<String> command(List<String> command) {
        List<String> full = new ArrayList<>(launcher);
        full.addAll(command);
        return full;
    }

    /** Gives {@code path} (not following a symlink) to this account. */
    void own(Path path) throws IOException {
        if (!switchesUser()) {
            return;
        }
        Files.setAttribute(path, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(path, "unix:gid", gid, LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Gives a whole tree to this account: a data directory copied or left behind by root (a replica
     * made by copying a primary's files) must belong to the server's account or it will not start.
     */
    void ownTree(Path root) throws IOException {
        if (!switchesUser()) {
            return;
        }
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                ownIfNeeded(dir);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                ownIfNeeded(file);
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private void ownIfNeeded(Path path) throws IOException {
        int owner = ((Number) Files.getAttribute(path, "unix:uid", LinkOption.NOFOLLOW_LINKS)).intValue();
        if (owner != uid) {
            own(path);
        }
    }

    /**
     * Fails with a clear message when this account cannot walk down to {@code path}: root's private
     * directories (mode 0700, like a JUnit {@code @TempDir} or {@code /root}) stop it at the door and
     * PostgreSQL would only say "could not change directory ... Permission denied".
     */
    void checkCanReach(Path path) throws IOException {
        if (!switchesUser()) {
            return;
        }
        for (Path p = path.toAbsolutePath().getParent(); p != null; p = p.getParent()) {
            if (!Files.exists(p)) {
                continue;
            }
            int owner = ((Number) Files.getAttribute(p, "unix:uid")).intValue();
            if (owner == uid) {
                continue;
            }
            if (!Files.getPosixFilePermissions(p).contains(PosixFilePermission.OTHERS_EXECUTE)) {
                throw new IOException("PostgreSQL runs as '" + name + "' because this JVM is root, and '" + name
                        + "' cannot enter " + p + " (on the way to " + path + "): use a directory every user can"
                        + " traverse (chmod o+x " + p + ", or a place under /tmp)");
            }
        }
    }

    static Optional<Path> onPath(String program) {
        String path = System.getenv("PATH");
        List<String> dirs = new ArrayList<>(List.of("/usr/bin", "/usr/sbin", "/bin", "/sbin"));
        if (path != null) {
            dirs.addAll(0, List.of(path.split(":")));
        }
        return dirs.stream()
                .filter(d -> !d.isEmpty())
                .map(d -> Path.of(d, program))
                .filter(Files::isExecutable)
                .findFirst();
    }

    /** One line of the account database, as {@code getent passwd NAME} prints it. */
    private record PasswdEntry(String name, int uid, int gid) {

        static Optional<PasswdEntry> lookup(String name) {
            // getent asks NSS, so accounts from LDAP/sssd count too; /etc/passwd is the fallback.
            Optional<String> line = getent(name).or(() -> etcPasswd(name));
            return line.flatMap(PasswdEntry::parse);
        }

        private static Optional<PasswdEntry> parse(String line) {
            String[] f = line.split(":", -1);
            if (f.length < 4) {
                return Optional.empty();
            }
            try {
                return Optional.of(new PasswdEntry(f[0], Integer.parseInt(f[2]), Integer.parseInt(f[3])));
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }

        private static Optional<String> getent(String name) {
            Optional<Path> getent = onPath("getent");
            if (getent.isEmpty()) {
                return Optional.empty();
            }
            try {
                Process p = new ProcessBuilder(getent.get().toString(), "passwd", name)
                        .redirectError(ProcessBuilder.Redirect.DISCARD)
                        .start();
                p.getOutputStream().close();
                String out;
                try (InputStream in = p.getInputStream()) {
                    out = new String(in.readAllBytes(), StandardCharsets.UTF_8).strip();
                }
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    return Optional.empty();
                }
                return p.exitValue() == 0 && !out.isEmpty() ? Optional.of(out.lines().findFirst().orElse(""))
                        : Optional.empty();
            } catch (IOException e) {
                return Optional.empty();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        }

        private static Optional<String> etcPasswd(String name) {
            try (var lines = Files.lines(Path.of("/etc/passwd"))) {
                return lines.filter(l -> l.startsWith(name + ":")).findFirst();
            } catch (IOException e) {
                return Optional.empty();
            }
        }
    }
}
