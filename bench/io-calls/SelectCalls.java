import java.lang.foreign.*;
import java.lang.invoke.MethodHandle;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * What the readiness and connection layers cost on the Java side, JDK against direct calls:
 *
 * <ol>
 * <li>Readiness: ten loopback TCP connections; each round writes one byte into every one and
 * collects the ten reports, either through a JDK {@link Selector} (select with a consumer, as
 * pgloom's carriers do) or through epoll_wait on an epoll descriptor of our own (FFM), the
 * report's data field naming the connection. The bytes are read and written the same way in
 * both (direct calls), so the difference is the selector's. CPU per report.
 * <li>Accept and close: a client connects (JDK), the server side is accepted either as a NIO
 * {@link SocketChannel} (what pgloom's listener does: the JDK builds the peer's address object in
 * native code and asks the socket for its local address) or as a bare descriptor from accept4,
 * then closed. CPU of the accepting thread per connection (the connecting side is the same for
 * both).
 * </ol>
 *
 * Run: {@code java --enable-native-access=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED bench/io-calls/SelectCalls.java}
 */
public class SelectCalls {
    static final int CONNS = 10, ROUNDS = 200_000, ACCEPTS = 20_000;
    static final Linker LINKER = Linker.nativeLinker();
    static final SymbolLookup LIBC = LINKER.defaultLookup();
    static final Linker.Option CRITICAL = Linker.Option.critical(true);
    static final MethodHandle READ = call("read", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    static final MethodHandle WRITE = call("write", FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG));
    static final MethodHandle EPOLL_CREATE1 = call("epoll_create1", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    static final MethodHandle EPOLL_CTL = call("epoll_ctl", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
    static final MethodHandle EPOLL_WAIT = LINKER.downcallHandle(LIBC.find("epoll_wait").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    static final MethodHandle ACCEPT4 = call("accept4", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    static final MethodHandle CLOSE = call("close", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
    // struct epoll_event on x86-64: uint32 events, uint64 data, packed: 12 bytes
    static final int EVENT_SIZE = 12, EPOLLIN = 1, EPOLL_CTL_ADD = 1, SOCK_NONBLOCK = 04000, SOCK_CLOEXEC = 02000000;

    static MethodHandle call(String name, FunctionDescriptor fd) {
        return LINKER.downcallHandle(LIBC.find(name).orElseThrow(), fd, CRITICAL);
    }

    public static void main(String[] args) throws Throwable {
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.INET).bind(new InetSocketAddress("127.0.0.1", 0), 1024);
        List<SocketChannel> writers = new ArrayList<>(), readers = new ArrayList<>();
        for (int i = 0; i < CONNS; i++) {
            writers.add(SocketChannel.open(server.getLocalAddress()));
            SocketChannel r = server.accept();
            r.configureBlocking(false);
            readers.add(r);
        }
        int[] wfd = new int[CONNS], rfd = new int[CONNS];
        for (int i = 0; i < CONNS; i++) {
            wfd[i] = fd(writers.get(i));
            rfd[i] = fd(readers.get(i));
        }
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        MemorySegment one = MemorySegment.ofArray(new byte[1]);
        MemorySegment buf = MemorySegment.ofArray(new byte[64]);

        for (int pass = 0; pass < 3; pass++) {
            // JDK selector
            try (Selector selector = Selector.open()) {
                for (int i = 0; i < CONNS; i++) {
                    readers.get(i).register(selector, SelectionKey.OP_READ, i);
                }
                int[] got = new int[1];
                long u0 = mx.getCurrentThreadUserTime(), c0 = mx.getCurrentThreadCpuTime();
                for (int r = 0; r < ROUNDS; r++) {
                    for (int i = 0; i < CONNS; i++) {
                        long w = (long) WRITE.invokeExact(wfd[i], one, 1L);
                    }
                    got[0] = 0;
                    while (got[0] < CONNS) {
                        selector.select(k -> {
                            int i = (Integer) k.attachment();
                            try {
                                long n = (long) READ.invokeExact(rfd[i], buf, 64L);
                                got[0] += (int) n;
                            } catch (Throwable e) {
                                throw new IllegalStateException(e);
                            }
                        });
                    }
                }
                report("jdk Selector.select(consumer)", mx, u0, c0, (long) ROUNDS * CONNS, "report");
                for (SelectionKey k : selector.keys()) {
                    k.cancel();
                }
                selector.selectNow();
            }
            for (SocketChannel r : readers) {
                r.configureBlocking(true); // deregistered: back to blocking and again non-blocking
                r.configureBlocking(false);
            }
            // own epoll
            int ep = (int) EPOLL_CREATE1.invokeExact(0);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment ev = arena.allocate(EVENT_SIZE);
                for (int i = 0; i < CONNS; i++) {
                    ev.set(ValueLayout.JAVA_INT_UNALIGNED, 0, EPOLLIN);
                    ev.set(ValueLayout.JAVA_LONG_UNALIGNED, 4, i);
                    int rc = (int) EPOLL_CTL.invokeExact(ep, EPOLL_CTL_ADD, rfd[i], ev);
                }
                MemorySegment events = arena.allocate(EVENT_SIZE * 64L);
                long u0 = mx.getCurrentThreadUserTime(), c0 = mx.getCurrentThreadCpuTime();
                for (int r = 0; r < ROUNDS; r++) {
                    for (int i = 0; i < CONNS; i++) {
                        long w = (long) WRITE.invokeExact(wfd[i], one, 1L);
                    }
                    int got = 0;
                    while (got < CONNS) {
                        int n = (int) EPOLL_WAIT.invokeExact(ep, events, 64, -1);
                        for (int e = 0; e < n; e++) {
                            int i = (int) events.get(ValueLayout.JAVA_LONG_UNALIGNED, e * (long) EVENT_SIZE + 4);
                            got += (int) (long) READ.invokeExact(rfd[i], buf, 64L);
                        }
                    }
                }
                report("own epoll (FFM)", mx, u0, c0, (long) ROUNDS * CONNS, "report");
            }
            int rc = (int) CLOSE.invokeExact(ep);

            // accept + close
            server.configureBlocking(false);
            long u0 = mx.getCurrentThreadUserTime(), c0 = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < ACCEPTS; i++) {
                SocketChannel client = SocketChannel.open(server.getLocalAddress());
                SocketChannel accepted;
                while ((accepted = server.accept()) == null) {
                    Thread.onSpinWait();
                }
                accepted.configureBlocking(false);
                accepted.close();
                client.close();
            }
            report("jdk accept + close (whole loop)", mx, u0, c0, ACCEPTS, "connection");
            int sfd = fd(server);
            u0 = mx.getCurrentThreadUserTime();
            c0 = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < ACCEPTS; i++) {
                SocketChannel client = SocketChannel.open(server.getLocalAddress());
                int a;
                while ((a = (int) ACCEPT4.invokeExact(sfd, MemorySegment.NULL, MemorySegment.NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) < 0) {
                    Thread.onSpinWait();
                }
                int c = (int) CLOSE.invokeExact(a);
                client.close();
            }
            report("accept4 + close (whole loop)", mx, u0, c0, ACCEPTS, "connection");
            server.configureBlocking(true);
        }
    }

    static void report(String what, ThreadMXBean mx, long u0, long c0, long n, String per) {
        double user = (mx.getCurrentThreadUserTime() - u0) / 1e3 / n;
        double cpu = (mx.getCurrentThreadCpuTime() - c0) / 1e3 / n;
        System.out.printf("%-34s user %.3f us, system %.3f us per %s%n", what, user, cpu - user, per);
    }

    static int fd(Object channel) throws ReflectiveOperationException {
        var f = channel.getClass().getDeclaredField("fdVal");
        f.setAccessible(true);
        return f.getInt(channel);
    }
}
