package io.pgloom.server.carrier;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.lang.reflect.Method;
import java.net.SocketException;
import java.nio.channels.SelectableChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the carriers need of the C library besides epoll ({@link Epoll}): a channel's file
 * descriptor, and {@link ChannelConduit}'s reads and writes as direct calls of libc's
 * {@code read} and {@code write} on it and the caller's own byte array (FFM critical downcalls
 * with heap access: no copy through a temporary direct buffer, no channel locks, no native-state
 * transition). Measured on the relay path (bench/RESULTS.md, 2026-12-04 evening): 0 to 0.3 µs
 * less user time per pooled transaction than NIO's four calls.
 *
 * <p>The channel stays what owns the descriptor: it answers options and addresses, and closes
 * the socket; {@link Descriptor} makes sure it is not closed while a call here uses it. Reaching
 * the descriptor needs {@code --add-opens java.base/sun.nio.ch=ALL-UNNAMED} (the launcher passes
 * it); without it, or on a platform whose libc is not found, {@link #INSTANCE} is null and there
 * are no carriers (io_mode = jdk, said once in the log). {@code -Dpgloom.native_io=false} keeps
 * the descriptor and epoll but reads and writes through NIO ({@link #DIRECT}; tests run both).
 *
 * <p>Threading: stateless; callers pass their own errno box.
 */
final class NativeIo {
    private static final Logger log = LoggerFactory.getLogger(NativeIo.class);
    static final int EINTR = 4;
    static final int EAGAIN = 11;

    /** The calls, or null when this JVM does not allow them (see the class comment). */
    static final NativeIo INSTANCE;
    /** Whether carrier sockets read and write by direct calls (else NIO's): {@code -Dpgloom.native_io}, default true. */
    static final boolean DIRECT = Boolean.parseBoolean(System.getProperty("pgloom.native_io", "true"));

    // Static finals, so that the JIT binds the calls as constants and inlines the downcalls.
    private static final MethodHandle READ;
    private static final MethodHandle WRITE;
    private static final MethodHandle STRERROR;
    private static final VarHandle ERRNO;
    private static final MethodHandle FD_VAL;

    static {
        MethodHandle read = null;
        MethodHandle write = null;
        MethodHandle strerror = null;
        VarHandle errno = null;
        MethodHandle fdVal = null;
        NativeIo instance = null;
        try {
            Method m = Class.forName("sun.nio.ch.SelChImpl").getMethod("getFDVal");
            m.setAccessible(true);
            fdVal = MethodHandles.lookup().unreflect(m).asType(MethodType.methodType(int.class, SelectableChannel.class));
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            FunctionDescriptor rw = FunctionDescriptor.of(ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG);
            Linker.Option[] options = {Linker.Option.critical(true), Linker.Option.captureCallState("errno")};
            read = linker.downcallHandle(libc.find("read").orElseThrow(), rw, options);
            write = linker.downcallHandle(libc.find("write").orElseThrow(), rw, options);
            strerror = linker.downcallHandle(libc.find("strerror").orElseThrow(), FunctionDescriptor.of(
                    ValueLayout.ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(256, ValueLayout.JAVA_BYTE)),
                    ValueLayout.JAVA_INT));
            errno = Linker.Option.captureStateLayout().varHandle(MemoryLayout.PathElement.groupElement("errno"));
            instance = new NativeIo();
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            log.info("no direct calls on socket descriptors in this JVM ({})", e.toString());
        }
        READ = read;
        WRITE = write;
        STRERROR = strerror;
        ERRNO = errno;
        FD_VAL = fdVal;
        INSTANCE = instance;
    }

    private NativeIo() {
    }

    /** The errno box a caller passes to {@link #read} and {@link #write}: one per reading or writing side. */
    static MemorySegment errnoBox() {
        return MemorySegment.ofArray(new int[(int) (Linker.Option.captureStateLayout().byteSize() / Integer.BYTES)]);
    }

    /** The channel's file descriptor. */
    int fd(SelectableChannel channel) {
        try {
            return (int) FD_VAL.invokeExact(channel);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** libc's read into {@code b[off, off + len)}: bytes read, 0 at end of stream, -1 with the errno in {@code box}. */
    long read(MemorySegment box, int fd, byte[] b, int off, int len) {
        try {
            return (long) READ.invokeExact(box, fd, MemorySegment.ofArray(b).asSlice(off, len), (long) len);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** libc's write of {@code b[off, off + len)}: bytes written, or -1 with the errno in {@code box}. */
    long write(MemorySegment box, int fd, byte[] b, int off, int len) {
        try {
            return (long) WRITE.invokeExact(box, fd, MemorySegment.ofArray(b).asSlice(off, len), (long) len);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** The errno a failed call left in {@code box}. */
    int errno(MemorySegment box) {
        return (int) ERRNO.get(box, 0L);
    }

    /** A failed call's errno as the exception a JDK socket throws: its message is the C library's. */
    SocketException failure(int errno) {
        String message;
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            message = s.getString(0);
        } catch (Throwable e) {
            message = "I/O error " + errno;
        }
        return new SocketException(message);
    }
}
