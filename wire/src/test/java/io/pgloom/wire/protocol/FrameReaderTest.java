package io.pgloom.wire.protocol;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import org.junit.jupiter.api.Test;

/** The read buffer's sizes: small at first, grown by full reads, shrunk back to its resting size. */
class FrameReaderTest {

    private static void consumeAll(FrameReader r) {
        r.advance(r.available());
    }

    @Test
    void startsSmallGrowsOnFullReadsAndRestsAtTheRestingSize() throws Exception {
        FrameReader r = new FrameReader(new ByteArrayInputStream(new byte[5000]), 128, 512, 64 * 1024);
        assertEquals(128, r.buffer().length, "an idle peer is parked on the small first buffer");

        assertTrue(r.fill());
        assertEquals(128, r.available());
        assertEquals(256, r.buffer().length, "a read that filled the buffer doubles it");
        consumeAll(r);
        r.shrinkIfEmpty();
        assertEquals(256, r.buffer().length, "below the resting size nothing is given back");

        assertTrue(r.fill());
        assertEquals(512, r.buffer().length);
        consumeAll(r);
        assertTrue(r.fill());
        assertEquals(1024, r.buffer().length);
        consumeAll(r);
        r.shrinkIfEmpty();
        assertEquals(512, r.buffer().length, "an empty buffer above the resting size drops to it");
    }

    @Test
    void withoutARestingSizeItShrinksToTheInitialSize() throws Exception {
        FrameReader r = new FrameReader(new ByteArrayInputStream(new byte[1000]), 256, 64 * 1024);
        assertTrue(r.fill());
        assertEquals(512, r.buffer().length);
        r.shrinkIfEmpty();
        assertEquals(512, r.buffer().length, "not while bytes are buffered");
        consumeAll(r);
        r.shrinkIfEmpty();
        assertEquals(256, r.buffer().length);
    }
}
