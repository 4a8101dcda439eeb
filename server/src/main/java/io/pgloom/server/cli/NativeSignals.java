package io.pgloom.server.cli;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.Locale;

/**
 * What pgloom needs of signals beyond the JVM's rules, through FFM: SIGQUIT made to reach Java
 * ({@link #relayQuit}), and a signal pgloom was started with ignored taken back
 * ({@link #restoreDefault}).
 *
 * <p>SIGQUIT: a native handler re-raises it on the process as SIGPWR, which Java code may handle
 * ({@code sun.misc.Signal}), unlike SIGQUIT.
 *
 * <p>HotSpot keeps SIGQUIT for thread dumps and refuses to give it to a Java handler; {@code -Xrs}
 * frees it for native handlers only and silences the Java ones for HUP, INT and TERM too; and a
 * Java upcall installed as the native handler crashes when the signal lands on a thread running Java
 * code. So the handler is eight machine instructions, {@code kill(getpid(), SIGPWR)} as two raw
 * system calls: async-signal-safe, touches neither errno nor the JVM, and lets the JVM's own signal
 * thread run pgloom's Java handler for SIGPWR. It is installed with {@code sigaction} over the
 * JVM's thread-dump handler, after start-up.
 *
 * <p>x86-64 Linux only (the instructions are the architecture's); elsewhere {@link #install}
 * returns a reason and SIGQUIT stays the JVM's thread dump. With SIGQUIT taken, {@code jcmd} can no
 * longer use it to start the JVM's attach listener, so the launcher starts that listener at JVM
 * start-up ({@code -XX:+StartAttachListener}).
 */
final class NativeSignals {
    static final String RELAYED_TO = "PWR";
    private static final int SIGQUIT = 3;
    private static final int SIGPWR = 30;
    private static final int SYS_GETPID = 39;
    private static final int SYS_KILL = 62;
    private static final int PROT_READ = 1;
    private static final int PROT_WRITE = 2;
    private static final int PROT_EXEC = 4;
    private static final int MAP_PRIVATE = 2;
    private static final int MAP_ANONYMOUS = 0x20;
    private static final int SA_RESTART = 0x10000000;
    /** glibc's struct sigaction on x86-64: handler, 128-byte mask, int flags (padded), restorer. */
    private static final long SIGACTION_SIZE = 152;
    private static final long SA_FLAGS_OFFSET = 136;
    private static final long PAGE = 4096;

    private NativeSignals() {
    }

    /**
     * Sets {@code signo} back to its default action: the JVM installs no Java handler for HUP, INT
     * or TERM when the process started with them ignored (a shell's background job ignores SIGINT,
     * nohup SIGHUP), where PgBouncer takes them anyway. Returns null when done, else why not.
     */
    static String restoreDefault(int signo) {
        try {
            Linker linker = Linker.nativeLinker();
            MethodHandle sigaction = linker.downcallHandle(linker.defaultLookup().find("sigaction").orElseThrow(),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                            ValueLayout.ADDRESS));
            try (Arena arena = Arena.ofConfined()) {
                // SIG_DFL is the null handler; the rest of the struct zero. The layout's first field is
                // the handler on every Linux glibc, so this part is not tied to x86-64.
                MemorySegment action = arena.allocate(SIGACTION_SIZE, 8);
                return (int) sigaction.invokeExact(signo, action, MemorySegment.NULL) == 0 ? null : "sigaction failed";
            }
        } catch (Throwable e) {
            return e.toString();
        }
    }

    /** Installs the SIGQUIT handler; returns null when done, else why SIGQUIT stays the JVM's. */
    static String relayQuit() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (!os.contains("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            return "the SIGQUIT relay is built for Linux x86-64, not " + os + " " + arch;
        }
        try {
            return installX8664();
        } catch (Throwable e) {
            return "installing the SIGQUIT handler failed: " + e;
        }
    }

    private static String installX8664() throws Throwable {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        MethodHandle mmap = linker.downcallHandle(libc.find("mmap").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));
        MethodHandle mprotect = linker.downcallHandle(libc.find("mprotect").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                        ValueLayout.JAVA_INT));
        MethodHandle sigaction = linker.downcallHandle(libc.find("sigaction").orElseThrow(),
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                        ValueLayout.ADDRESS));

        byte[] code = handlerCode();
        MemorySegment page = (MemorySegment) mmap.invokeExact(MemorySegment.NULL, PAGE,
                PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0L);
        if (page.address() == -1L) {
            return "mmap failed";
        }
        // The page lives as long as the process: the handler may run until the last instruction.
        MemorySegment text = page.reinterpret(PAGE);
        MemorySegment.copy(code, 0, text, ValueLayout.JAVA_BYTE, 0, code.length);
        if ((int) mprotect.invokeExact(text, PAGE, PROT_READ | PROT_EXEC) != 0) {
            return "mprotect failed";
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment action = arena.allocate(SIGACTION_SIZE, 8);
            action.set(ValueLayout.ADDRESS, 0, text);
            action.set(ValueLayout.JAVA_INT, SA_FLAGS_OFFSET, SA_RESTART);
            if ((int) sigaction.invokeExact(SIGQUIT, action, MemorySegment.NULL) != 0) {
                return "sigaction(SIGQUIT) failed";
            }
        }
        return null;
    }

    /** {@code kill(getpid(), SIGPWR); return;} as raw x86-64 system calls. */
    static byte[] handlerCode() {
        return new byte[] {
            (byte) 0xB8, SYS_GETPID, 0, 0, 0,   // mov eax, SYS_getpid
            0x0F, 0x05,                          // syscall
            (byte) 0x89, (byte) 0xC7,            // mov edi, eax
            (byte) 0xBE, SIGPWR, 0, 0, 0,        // mov esi, SIGPWR
            (byte) 0xB8, SYS_KILL, 0, 0, 0,      // mov eax, SYS_kill
            0x0F, 0x05,                          // syscall
            (byte) 0xC3,                         // ret
        };
    }
}
