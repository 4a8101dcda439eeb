package io.pgloom.wire.tls;

import io.pgloom.wire.auth.HeavyWork;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantLock;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSession;

/**
 * TLS over a pair of blocking streams: an {@link SSLEngine} driven by the thread that reads and
 * the thread that writes, so an encrypted connection is read and written exactly like a plain one
 * (a blocking {@link InputStream} and {@link OutputStream}), on the same virtual threads and the
 * same transport under it. Used for clients (server mode) and towards PostgreSQL (client mode).
 *
 * <p>Threading: one thread reads, writers hold {@link #writeLock} (an SSLEngine may wrap and
 * unwrap concurrently, but not wrap twice at once). A read that meets a TLS 1.3 post-handshake
 * message needing an answer (a KeyUpdate) writes it under the same lock. The engine's delegated
 * tasks (signatures, key agreement: the CPU-heavy part of a handshake) run through
 * {@link HeavyWork}, so that on pgloom's carriers they do not stall the other sessions.
 */
public final class TlsStream {
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private final SSLEngine engine;
    private final InputStream netIn;
    private final OutputStream netOut;
    /** Encrypted bytes read from the network, not yet unwrapped; kept in read mode. Reader only. */
    private ByteBuffer inNet;
    /** Decrypted bytes not yet taken by the reader; kept in read mode. Reader only. */
    private ByteBuffer inApp;
    /** Encrypted bytes to send; under {@link #writeLock}. */
    private ByteBuffer outNet;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final InputStream input = new In();
    private final OutputStream output = new Out();
    private volatile boolean closed;

    private TlsStream(SSLEngine engine, InputStream netIn, OutputStream netOut) {
        this.engine = engine;
        this.netIn = netIn;
        this.netOut = netOut;
        SSLSession s = engine.getSession();
        this.inNet = ByteBuffer.allocate(s.getPacketBufferSize()).flip();
        this.inApp = ByteBuffer.allocate(s.getApplicationBufferSize()).flip();
        this.outNet = ByteBuffer.allocate(s.getPacketBufferSize());
    }

    /**
     * Runs the handshake on {@code engine} (already set to client or server mode) over the plain
     * streams and returns the encrypted connection. Throws {@link SSLHandshakeException} when the
     * peer is refused or refuses us (the message says why), {@link EOFException} when it hangs up
     * during the handshake.
     */
    public static TlsStream handshake(SSLEngine engine, InputStream netIn, OutputStream netOut) throws IOException {
        TlsStream t = new TlsStream(engine, netIn, netOut);
        engine.beginHandshake();
        try {
            t.runHandshake();
        } catch (SSLException e) {
            t.sendPendingAlert();
            throw e;
        }
        return t;
    }

    /**
     * After a failed handshake the engine holds the alert that says why (certificate_required,
     * bad_certificate, handshake_failure...): send it, so that the peer reports the reason rather
     * than a connection closed without one. Best effort.
     */
    private void sendPendingAlert() {
        writeLock.lock();
        try {
            for (int i = 0; i < 4 && engine.getHandshakeStatus() == HandshakeStatus.NEED_WRAP; i++) {
                wrapAndSend(EMPTY);
            }
        } catch (IOException | RuntimeException ignored) {
            // the peer may be gone already
        } finally {
            writeLock.unlock();
        }
    }

    private void runHandshake() throws IOException {
        HandshakeStatus hs = engine.getHandshakeStatus();
        while (true) {
            switch (hs) {
                case NEED_WRAP -> {
                    writeLock.lock();
                    try {
                        hs = wrapAndSend(EMPTY).getHandshakeStatus();
                    } finally {
                        writeLock.unlock();
                    }
                }
                case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                    SSLEngineResult r = unwrapOnce();
                    if (r == null) {
                        throw new EOFException("peer closed the connection during the TLS handshake");
                    }
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                        throw new SSLHandshakeException("peer ended TLS during the handshake");
                    }
                    hs = r.getHandshakeStatus();
                }
                case NEED_TASK -> {
                    runTasks();
                    hs = engine.getHandshakeStatus();
                }
                case FINISHED, NOT_HANDSHAKING -> {
                    return;
                }
            }
        }
    }

    /** The decrypted stream; read by one thread. */
    public InputStream input() {
        return input;
    }

    /** The stream that encrypts; each write is sent before it returns. */
    public OutputStream output() {
        return output;
    }

    /** The ALPN protocol the handshake agreed on; empty when the client offered none. */
    public String applicationProtocol() {
        String p = engine.getApplicationProtocol();
        return p == null ? "" : p;
    }

    /** The negotiated session: protocol, cipher suite, the peer's certificates. */
    public SSLSession session() {
        return engine.getSession();
    }

    /**
     * Sends close_notify, unless a writer holds the stream (best effort: the caller closes the
     * socket next). It writes to the socket, so it may block while the peer's buffer is full:
     * call it from the connection's own thread, never from a janitor.
     */
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (writeLock.tryLock()) {
            try {
                engine.closeOutbound();
                wrapAndSend(EMPTY);
            } catch (IOException | RuntimeException ignored) {
                // the peer may be gone; closing the socket is what matters
            } finally {
                writeLock.unlock();
            }
        }
    }

    /**
     * Unwraps one record from {@link #inNet} into {@link #inApp}, reading from the network as
     * needed; null at end of stream. Reader (or handshaking) thread only.
     */
    private SSLEngineResult unwrapOnce() throws IOException {
        while (true) {
            inApp.compact();
            SSLEngineResult r;
            try {
                r = engine.unwrap(inNet, inApp);
            } finally {
                inApp.flip();
            }
            switch (r.getStatus()) {
                case OK, CLOSED -> {
                    return r;
                }
                case BUFFER_UNDERFLOW -> {
                    if (!fill()) {
                        return null;
                    }
                }
                case BUFFER_OVERFLOW -> inApp = grow(inApp, engine.getSession().getApplicationBufferSize(), true);
            }
        }
    }

    /** Reads more encrypted bytes into {@link #inNet}; false at end of stream. */
    private boolean fill() throws IOException {
        int packet = engine.getSession().getPacketBufferSize();
        if (inNet.capacity() < packet) {
            inNet = grow(inNet, packet, true);
        }
        inNet.compact();
        try {
            int n = netIn.read(inNet.array(), inNet.arrayOffset() + inNet.position(), inNet.remaining());
            if (n < 0) {
                return false;
            }
            inNet.position(inNet.position() + n);
            return true;
        } finally {
            inNet.flip();
        }
    }

    /** A buffer of at least {@code size} holding {@code b}'s content; {@code readMode}: b is (and stays) flipped. */
    private static ByteBuffer grow(ByteBuffer b, int size, boolean readMode) {
        ByteBuffer bigger = ByteBuffer.allocate(Math.max(size, b.capacity() * 2));
        bigger.put(b);
        return readMode ? bigger.flip() : bigger;
    }

    /** Wraps what {@code src} holds (or a handshake or closing message) and sends it; under {@link #writeLock}. */
    private SSLEngineResult wrapAndSend(ByteBuffer src) throws IOException {
        while (true) {
            outNet.clear();
            SSLEngineResult r = engine.wrap(src, outNet);
            switch (r.getStatus()) {
                case BUFFER_OVERFLOW -> {
                    outNet = ByteBuffer.allocate(Math.max(engine.getSession().getPacketBufferSize(), outNet.capacity() * 2));
                    continue;
                }
                case BUFFER_UNDERFLOW -> throw new SSLException("TLS engine asked for more data to wrap");
                default -> {
                }
            }
            outNet.flip();
            if (outNet.hasRemaining()) {
                netOut.write(outNet.array(), outNet.arrayOffset(), outNet.limit());
                netOut.flush();
            }
            if (r.getStatus() == SSLEngineResult.Status.CLOSED && src.hasRemaining()) {
                throw new SocketException("TLS connection closed");
            }
            return r;
        }
    }

    private void runTasks() {
        for (Runnable task; (task = engine.getDelegatedTask()) != null; ) {
            Runnable t = task;
            HeavyWork.run(() -> {
                t.run();
                return null;
            });
        }
    }

    /**
     * After a record was unwrapped outside the handshake: TLS 1.3 may ask for an answer (a
     * KeyUpdate) or for tasks; renegotiation is off, so nothing else comes here.
     */
    private void afterUnwrap(HandshakeStatus hs) throws IOException {
        while (hs == HandshakeStatus.NEED_TASK || hs == HandshakeStatus.NEED_WRAP) {
            if (hs == HandshakeStatus.NEED_TASK) {
                runTasks();
                hs = engine.getHandshakeStatus();
            } else {
                writeLock.lock();
                try {
                    hs = wrapAndSend(EMPTY).getHandshakeStatus();
                } finally {
                    writeLock.unlock();
                }
            }
        }
    }

    private final class In extends InputStream {
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (!inApp.hasRemaining()) {
                SSLEngineResult r = unwrapOnce();
                if (r == null || r.getStatus() == SSLEngineResult.Status.CLOSED) {
                    return -1; // close_notify, or the peer hung up without one: the end either way
                }
                afterUnwrap(r.getHandshakeStatus());
            }
            int n = Math.min(len, inApp.remaining());
            inApp.get(b, off, n);
            return n;
        }

        /** Decrypted bytes ready now (the records already read may hold more; they count once unwrapped). */
        @Override
        public int available() {
            return inApp.remaining();
        }
    }

    private final class Out extends OutputStream {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            ByteBuffer src = ByteBuffer.wrap(b, off, len);
            writeLock.lock();
            try {
                while (src.hasRemaining()) {
                    SSLEngineResult r = wrapAndSend(src);
                    if (r.getStatus() == SSLEngineResult.Status.CLOSED) {
                        throw new SocketException("TLS connection closed");
                    }
                }
            } finally {
                writeLock.unlock();
            }
        }
    }
}
