import java.lang.foreign.*;
import java.lang.invoke.MethodHandle;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * What a socket read and write cost in user time through NIO against FFM downcalls on the same
 * file descriptors: a 64-byte message written on one end of a loopback TCP connection and read on
 * the other, N times on one thread; CPU time from ThreadMXBean. The kernel's share is the same
 * for all; the difference is the Java side of each call.
 */
public class IoCalls {
    static final int N = 400_000, SIZE = 64;

    public static void main(String[] args) throws Throwable {
        ServerSocketChannel server = ServerSocketChannel.open().bind(new InetSocketAddress("127.0.0.1", 0));
        SocketChannel a = SocketChannel.open(server.getLocalAddress());
        SocketChannel b = server.accept();
        a.configureBlocking(false);
        b.configureBlocking(false);
        int fa = fd(a), fb = fd(b);
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        FunctionDescriptor rw = FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG);
        MethodHandle write = linker.downcallHandle(libc.find("write").orElseThrow(), rw);
        MethodHandle read = linker.downcallHandle(libc.find("read").orElseThrow(), rw);
        MethodHandle writeHeap = linker.downcallHandle(libc.find("write").orElseThrow(), rw, Linker.Option.critical(true));
        MethodHandle readHeap = linker.downcallHandle(libc.find("read").orElseThrow(), rw, Linker.Option.critical(true));
        byte[] out = new byte[SIZE], in = new byte[16384];
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        for (int round = 0; round < 3; round++) {
            // NIO, heap arrays wrapped as pgloom does (NIO copies through a temporary direct buffer)
            long u0 = mx.getCurrentThreadUserTime(), c0 = mx.getCurrentThreadCpuTime();
            ByteBuffer inBuf = ByteBuffer.wrap(in);
            for (int i = 0; i < N; i++) {
                a.write(ByteBuffer.wrap(out));
                inBuf.clear();
                while (inBuf.position() < SIZE) {
                    b.read(inBuf);
                }
            }
            report("nio (heap arrays)", mx, u0, c0);
            // FFM, copying through a native segment (what NIO does, without its locks and bookkeeping)
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment nOut = arena.allocate(SIZE), nIn = arena.allocate(in.length);
                u0 = mx.getCurrentThreadUserTime(); c0 = mx.getCurrentThreadCpuTime();
                for (int i = 0; i < N; i++) {
                    MemorySegment.copy(out, 0, nOut, ValueLayout.JAVA_BYTE, 0, SIZE);
                    long w = (long) write.invokeExact(fa, nOut, (long) SIZE);
                    long got = 0;
                    while (got < SIZE) {
                        long r = (long) read.invokeExact(fb, nIn, (long) in.length);
                        if (r > 0) {
                            MemorySegment.copy(nIn, ValueLayout.JAVA_BYTE, 0, in, 0, (int) r);
                            got += r;
                        }
                    }
                }
                report("ffm (native copy)", mx, u0, c0);
            }
            // FFM straight on the heap arrays (critical downcalls: no copy, no transition to native state)
            MemorySegment hOut = MemorySegment.ofArray(out), hIn = MemorySegment.ofArray(in);
            u0 = mx.getCurrentThreadUserTime(); c0 = mx.getCurrentThreadCpuTime();
            for (int i = 0; i < N; i++) {
                long w = (long) writeHeap.invokeExact(fa, hOut, (long) SIZE);
                long got = 0;
                while (got < SIZE) {
                    long r = (long) readHeap.invokeExact(fb, hIn, (long) in.length);
                    if (r > 0) {
                        got += r;
                    }
                }
            }
            report("ffm (critical, heap)", mx, u0, c0);
        }
    }

    static void report(String what, ThreadMXBean mx, long u0, long c0) {
        double user = (mx.getCurrentThreadUserTime() - u0) / 1e3 / N;
        double cpu = (mx.getCurrentThreadCpuTime() - c0) / 1e3 / N;
        System.out.printf("%-22s user %.2f us, system %.2f us, total %.2f us per write+read%n", what, user, cpu - user, cpu);
    }

    static int fd(SocketChannel c) throws ReflectiveOperationException {
        var f = c.getClass().getDeclaredField("fdVal");
        f.setAccessible(true);
        return f.getInt(c);
    }
}
