package io.pgloom.server.carrier;

import io.pgloom.wire.tcp.TcpTuning;
import java.io.FileDescriptor;
import java.io.IOException;
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
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ProtocolFamily;
import java.net.SocketAddress;
import java.net.SocketException;
import java.net.SocketOption;
import java.net.StandardSocketOptions;
import java.net.StandardProtocolFamily;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.spi.SelectorProvider;
import java.util.Arrays;
import java.util.Map;
import jdk.net.ExtendedSocketOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the carriers need of the C library besides epoll ({@link Epoll}): a channel's file
 * descriptor, and {@link ChannelConduit}'s reads and writes as direct calls of libc's
 * {@code recv} and {@code send} on it and the caller's own byte array (FFM critical downcalls
 * with heap access: no copy through a temporary direct buffer, no channel locks, no native-state
 * transition). Measured on the relay path (bench/RESULTS.md, 2026-12-04 evening): 0 to 0.3 µs
 * less user time per pooled transaction than NIO's four calls; recv and send rather than read and
 * write skip the VFS layer (2026-12-05: about 0.2 µs of system time per transaction).
 *
 * <p>{@link ChannelAcceptor} accepts TCP connections with {@code accept4} too, non-blocking and
 * close-on-exec from the start: a client's descriptor is kept bare, its addresses taken from
 * accept4 and the listener ({@link #localAddress}: getsockname, for a wildcard listener only),
 * options set by setsockopt ({@link #apply}), closed by {@link #close(int)}; elsewhere it is
 * wrapped in the JDK's own channel class, the one its accept would have made ({@link #accepted}).
 * Either skips the JDK accept's three fcntl calls and its JNI work; the bare descriptor also the
 * JDK channel's two getsockname calls and its objects. When the JDK's class cannot be reached
 * {@link #ACCEPT} is false and the channel's own accept is used. The same listeners take
 * tcp_defer_accept, which the JDK has no option
 * for, and the TCP options their connections inherit by direct setsockopt calls ({@link #setInt}).
 *
 * <p>Where there is a channel it owns the descriptor: it answers options and addresses, and
 * closes the socket; {@link Descriptor} makes sure no descriptor is closed while a call here uses it. Reaching
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
    static final int ECONNABORTED = 103;
    static final int SOL_SOCKET = 1;
    static final int SO_SNDBUF = 7;
    static final int SO_RCVBUF = 8;
    static final int SO_KEEPALIVE = 9;
    static final int IPPROTO_TCP = 6;
    static final int TCP_NODELAY = 1;
    static final int TCP_KEEPIDLE = 4;
    static final int TCP_KEEPINTVL = 5;
    static final int TCP_KEEPCNT = 6;
    static final int TCP_DEFER_ACCEPT = 9;
    /** send(2)'s flag for a peer that has gone: EPIPE, and no SIGPIPE. */
    private static final int MSG_NOSIGNAL = 0x4000;
    private static final int SOCK_NONBLOCK = 0x800;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int AF_INET = 2;
    private static final int AF_INET6 = 10;
    /** Bytes of a sockaddr_storage: room for any address accept4 reports. */
    static final int SOCKADDR_BYTES = 128;
    /** setsockopt's level and name for each option {@link TcpTuning} sets. */
    private static final Map<SocketOption<?>, int[]> LINUX_OPTIONS = Map.of(
            StandardSocketOptions.TCP_NODELAY, new int[] {IPPROTO_TCP, TCP_NODELAY},
            StandardSocketOptions.SO_KEEPALIVE, new int[] {SOL_SOCKET, SO_KEEPALIVE},
            ExtendedSocketOptions.TCP_KEEPIDLE, new int[] {IPPROTO_TCP, TCP_KEEPIDLE},
            ExtendedSocketOptions.TCP_KEEPINTERVAL, new int[] {IPPROTO_TCP, TCP_KEEPINTVL},
            ExtendedSocketOptions.TCP_KEEPCOUNT, new int[] {IPPROTO_TCP, TCP_KEEPCNT},
            StandardSocketOptions.SO_SNDBUF, new int[] {SOL_SOCKET, SO_SNDBUF},
            StandardSocketOptions.SO_RCVBUF, new int[] {SOL_SOCKET, SO_RCVBUF});

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
    private static final MethodHandle ACCEPT4;
    private static final MethodHandle CLOSE;
    private static final MethodHandle SETSOCKOPT;
    private static final MethodHandle GETSOCKNAME;
    /** {@code sun.nio.ch.IOUtil.newFD(int)}. */
    private static final MethodHandle NEW_FD;
    /** The JDK's constructor of an accepted channel: (provider, family, descriptor, remote address). */
    private static final MethodHandle ACCEPTED;
    /** Whether {@link ChannelAcceptor} accepts TCP connections with {@link #accept4}. */
    static final boolean ACCEPT;

    static {
        MethodHandle read = null;
        MethodHandle write = null;
        MethodHandle strerror = null;
        VarHandle errno = null;
        MethodHandle fdVal = null;
        NativeIo instance = null;
        MethodHandle accept4 = null;
        MethodHandle close = null;
        MethodHandle setsockopt = null;
        MethodHandle getsockname = null;
        MethodHandle newFd = null;
        MethodHandle accepted = null;
        try {
            Method m = Class.forName("sun.nio.ch.SelChImpl").getMethod("getFDVal");
            m.setAccessible(true);
            fdVal = MethodHandles.lookup().unreflect(m).asType(MethodType.methodType(int.class, SelectableChannel.class));
            Linker linker = Linker.nativeLinker();
            SymbolLookup libc = linker.defaultLookup();
            FunctionDescriptor rw = FunctionDescriptor.of(ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT);
            Linker.Option[] options = {Linker.Option.critical(true), Linker.Option.captureCallState("errno")};
            read = linker.downcallHandle(libc.find("recv").orElseThrow(), rw, options);
            write = linker.downcallHandle(libc.find("send").orElseThrow(), rw, options);
            strerror = linker.downcallHandle(libc.find("strerror").orElseThrow(), FunctionDescriptor.of(
                    ValueLayout.ADDRESS.withTargetLayout(MemoryLayout.sequenceLayout(256, ValueLayout.JAVA_BYTE)),
                    ValueLayout.JAVA_INT));
            errno = Linker.Option.captureStateLayout().varHandle(MemoryLayout.PathElement.groupElement("errno"));
            instance = new NativeIo();
            try {
                accept4 = linker.downcallHandle(libc.find("accept4").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), options);
                close = linker.downcallHandle(libc.find("close").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT));
                setsockopt = linker.downcallHandle(libc.find("setsockopt").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT), options);
                getsockname = linker.downcallHandle(libc.find("getsockname").orElseThrow(), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS), options);
                Method m2 = Class.forName("sun.nio.ch.IOUtil").getMethod("newFD", int.class);
                m2.setAccessible(true);
                newFd = MethodHandles.lookup().unreflect(m2);
                Constructor<?> c = Class.forName("sun.nio.ch.SocketChannelImpl").getDeclaredConstructor(
                        SelectorProvider.class, ProtocolFamily.class, FileDescriptor.class, SocketAddress.class);
                c.setAccessible(true);
                accepted = MethodHandles.lookup().unreflectConstructor(c).asType(MethodType.methodType(SocketChannel.class,
                        SelectorProvider.class, ProtocolFamily.class, FileDescriptor.class, SocketAddress.class));
            } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
                accept4 = null;
                log.info("TCP connections are accepted through the JDK's channel ({})", e.toString());
            }
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            log.info("no direct calls on socket descriptors in this JVM ({})", e.toString());
        }
        ACCEPT4 = accept4;
        CLOSE = close;
        SETSOCKOPT = setsockopt;
        GETSOCKNAME = getsockname;
        NEW_FD = newFd;
        ACCEPTED = accepted;
        ACCEPT = accept4 != null && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
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

    /** libc's recv into {@code b[off, off + len)}: bytes read, 0 at end of stream, -1 with the errno in {@code box}. */
    long read(MemorySegment box, int fd, byte[] b, int off, int len) {
        try {
            return (long) READ.invokeExact(box, fd, MemorySegment.ofArray(b).asSlice(off, len), (long) len, 0);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** libc's send of {@code b[off, off + len)}: bytes written, or -1 with the errno in {@code box}. */
    long write(MemorySegment box, int fd, byte[] b, int off, int len) {
        try {
            return (long) WRITE.invokeExact(box, fd, MemorySegment.ofArray(b).asSlice(off, len), (long) len, MSG_NOSIGNAL);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * libc's accept4 on the listening {@code fd}, non-blocking and close-on-exec: the new
     * descriptor with the peer's address in {@code address} (a {@link #SOCKADDR_BYTES} array), or
     * -1 with the errno in {@code box}. {@code length} is accept4's in-out length, set here.
     */
    int accept4(MemorySegment box, int fd, byte[] address, int[] length) {
        length[0] = address.length;
        try {
            return (int) ACCEPT4.invokeExact(box, fd, MemorySegment.ofArray(address), MemorySegment.ofArray(length),
                    SOCK_NONBLOCK | SOCK_CLOEXEC);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The JDK's channel for {@code fd}, just accepted with the peer's {@code address}, as its own
     * accept would have made it; the descriptor is closed if that fails.
     */
    SocketChannel accepted(SelectorProvider provider, int fd, byte[] address) throws SocketException {
        try {
            ProtocolFamily family = family(address) == AF_INET6 ? StandardProtocolFamily.INET6 : StandardProtocolFamily.INET;
            FileDescriptor descriptor = (FileDescriptor) NEW_FD.invokeExact(fd);
            return (SocketChannel) ACCEPTED.invokeExact(provider, family, descriptor, (SocketAddress) socketAddress(address));
        } catch (Throwable e) {
            try {
                close(fd);
            } catch (RuntimeException closing) {
                e.addSuppressed(closing);
            }
            SocketException failure = new SocketException("could not take the accepted connection: " + e);
            failure.initCause(e);
            throw failure;
        }
    }

    /** Closes a descriptor that no channel owns ({@link ChannelAcceptor#acceptTcp}'s); an error (EBADF, EINTR) is ignored: it is closed either way. */
    void close(int fd) {
        try {
            int ignored = (int) CLOSE.invokeExact(fd);
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    /** getsockname: the address and port a connected socket's peer reached it on. */
    InetSocketAddress localAddress(MemorySegment box, int fd) throws SocketException {
        byte[] sa = new byte[SOCKADDR_BYTES];
        int[] length = {sa.length};
        int done;
        try {
            done = (int) GETSOCKNAME.invokeExact(box, fd, MemorySegment.ofArray(sa), MemorySegment.ofArray(length));
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
        if (done != 0) {
            throw failure(errno(box));
        }
        try {
            return socketAddress(sa);
        } catch (UnknownHostException e) {
            throw new SocketException("getsockname: " + e.getMessage());
        }
    }

    /**
     * Sets {@code tcp}'s options (PgBouncer's rules: {@link TcpTuning#applyTo}) on {@code fd} by
     * direct setsockopt calls; a refused one throws, naming the option and value.
     */
    void apply(TcpTuning tcp, MemorySegment box, int fd) throws IOException {
        tcp.applyTo(new TcpTuning.OptionSetter() {
            @Override
            public <T> void set(SocketOption<T> option, T value) throws IOException {
                int[] levelAndName = LINUX_OPTIONS.get(option);
                if (levelAndName == null) {
                    throw new SocketException("no setsockopt known for " + option.name());
                }
                int v = value instanceof Boolean on ? (on ? 1 : 0) : (Integer) value;
                if (!setInt(box, fd, levelAndName[0], levelAndName[1], v)) {
                    throw failure(errno(box));
                }
            }
        });
    }

    /** setsockopt with an int value; false, with the errno in {@code box}, if it failed. */
    boolean setInt(MemorySegment box, int fd, int level, int option, int value) {
        int[] v = {value};
        try {
            return (int) SETSOCKOPT.invokeExact(box, fd, level, option, MemorySegment.ofArray(v), Integer.BYTES) == 0;
        } catch (Throwable e) {
            throw new IllegalStateException(e);
        }
    }

    private static int family(byte[] sa) {
        return (sa[0] & 0xff) | (sa[1] & 0xff) << 8; // sa_family, in the machine's (little-endian) order
    }

    /**
     * A sockaddr_in or sockaddr_in6 as the JDK reports an address: an IPv4-mapped IPv6 address
     * as the IPv4 one, an IPv6 one with its scope.
     */
    static InetSocketAddress socketAddress(byte[] sa) throws UnknownHostException {
        int family = family(sa);
        int port = (sa[2] & 0xff) << 8 | (sa[3] & 0xff); // network order
        if (family == AF_INET) {
            return new InetSocketAddress(InetAddress.getByAddress(Arrays.copyOfRange(sa, 4, 8)), port);
        }
        if (family != AF_INET6) {
            throw new UnknownHostException("address family " + family);
        }
        byte[] ip = Arrays.copyOfRange(sa, 8, 24);
        int scope = (sa[24] & 0xff) | (sa[25] & 0xff) << 8 | (sa[26] & 0xff) << 16 | (sa[27] & 0xff) << 24;
        InetAddress a = InetAddress.getByAddress(ip); // an IPv4-mapped address comes back as Inet4Address
        if (scope != 0 && a instanceof Inet6Address) {
            a = Inet6Address.getByAddress(null, ip, scope);
        }
        return new InetSocketAddress(a, port);
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
