package io.pgloom.server.statements;

import static io.pgloom.server.statements.ResponseQueue.ANSWER_CLOSE;
import static io.pgloom.server.statements.ResponseQueue.ANSWER_ERROR;
import static io.pgloom.server.statements.ResponseQueue.ANSWER_PARSE;
import static io.pgloom.server.statements.ResponseQueue.BIND;
import static io.pgloom.server.statements.ResponseQueue.DESCRIBE_STATEMENT;
import static io.pgloom.server.statements.ResponseQueue.EXECUTE;
import static io.pgloom.server.statements.ResponseQueue.HIDDEN_CLOSE;
import static io.pgloom.server.statements.ResponseQueue.HIDDEN_PARSE;
import static io.pgloom.server.statements.ResponseQueue.LOST;
import static io.pgloom.server.statements.ResponseQueue.PARSE;
import static io.pgloom.server.statements.ResponseQueue.PASS;
import static io.pgloom.server.statements.ResponseQueue.QUERY;
import static io.pgloom.server.statements.ResponseQueue.REPLACE;
import static io.pgloom.server.statements.ResponseQueue.SWALLOW;
import static io.pgloom.server.statements.ResponseQueue.SYNC;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The answer bookkeeping as byte scripts: what the client sends (entries), what the server answers
 * (frame types), and what the client must see.
 */
class ResponseQueueTest {

    /** A queue with these entries, no payloads, counted from the start. */
    private static ResponseQueue owed(byte... kinds) {
        ResponseQueue q = new ResponseQueue();
        for (byte k : kinds) {
            q.add(k, null, 0);
        }
        return q;
    }

    /** Feeds server frame types; returns what the client sees, synthetic answers included. */
    private static String serve(ResponseQueue q, String serverFrames) {
        StringBuilder seen = new StringBuilder();
        for (char type : serverFrames.toCharArray()) {
            int action = q.onResponse(type);
            seen.append(types(q.before()));
            switch (action) {
                case PASS -> seen.append(type);
                case SWALLOW -> { }
                case REPLACE -> seen.append('!');
                default -> seen.append("<lost>");
            }
            seen.append(types(q.after()));
        }
        return seen.toString();
    }

    private static String types(ResponseQueue.Frames f) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < f.length(); i += 5) {
            b.append((char) f.bytes()[i]);
        }
        return b.toString();
    }

    @Test
    void answerGoesWhereTheSkippedParseWas() {
        ResponseQueue q = owed(ANSWER_PARSE, BIND, EXECUTE, SYNC);
        assertEquals("12DDCZ", serve(q, "2DDCZ"));
        assertFalse(q.isOpen(), "everything answered: back to the fast path");
    }

    @Test
    void answersAfterAMessageGoRightAfterItsAnswer() {
        ResponseQueue q = owed(BIND, EXECUTE, ANSWER_CLOSE, ANSWER_PARSE, DESCRIBE_STATEMENT, SYNC);
        assertEquals("2DC31tTZ", serve(q, "2DCtTZ"));
    }

    @Test
    void hiddenParseAndCloseAreSwallowed() {
        ResponseQueue q = owed(HIDDEN_CLOSE, HIDDEN_PARSE, BIND, SYNC);
        assertEquals("2Z", serve(q, "312Z"));
    }

    @Test
    void errorDropsWhatTheServerSkipsAndTakesItBack() {
        List<String> undone = new ArrayList<>();
        ResponseQueue q = new ResponseQueue();
        q.add(ANSWER_PARSE, (Runnable) () -> undone.add("first parse"), 0);
        q.add(BIND, null, 0);
        q.add(EXECUTE, null, 0);
        q.add(ANSWER_PARSE, (Runnable) () -> undone.add("second parse"), 0);
        q.add(ANSWER_CLOSE, (Runnable) () -> undone.add("close"), 0);
        q.add(HIDDEN_PARSE, (Runnable) () -> undone.add("hidden parse"), 0);
        q.add(SYNC, null, 0);
        // The Execute fails: the answer owed before it still goes, those after it do not.
        assertEquals("12EZ", serve(q, "2EZ"));
        assertEquals(List.of("second parse", "close", "hidden parse"), undone);
        assertFalse(q.isOpen());
    }

    @Test
    void failingParseIsTakenBack() {
        List<String> undone = new ArrayList<>();
        ResponseQueue q = owed(HIDDEN_CLOSE);
        q.add(PARSE, (Runnable) () -> undone.add("parse"), 0);
        q.add(SYNC, null, 0);
        assertEquals("EZ", serve(q, "3EZ"));
        assertEquals(List.of("parse"), undone);
    }

    @Test
    void serverErrorStandsInForTheClientsError() {
        ResponseQueue q = new ResponseQueue();
        byte[] error = {'E', 0, 0, 0, 4};
        q.add(HIDDEN_CLOSE, null, 0);
        q.add(ANSWER_ERROR, error, 0);
        q.add(BIND, null, 0);
        q.add(SYNC, null, 0);
        assertEquals(REPLACE, onlyAction(q, "3E"));
        assertArrayEquals(error, q.replacement());
        assertEquals("Z", serve(q, "Z"));
    }

    private static int onlyAction(ResponseQueue q, String frames) {
        int last = -1;
        for (char c : frames.toCharArray()) {
            last = q.onResponse(c);
        }
        return last;
    }

    @Test
    void skippingOutlivesAnEmptyQueueUntilTheSync() {
        ResponseQueue q = owed(BIND);
        assertEquals("E", serve(q, "E"));
        assertTrue(q.isOpen(), "the server skips to Sync: still counting");
        // What the client sends next is skipped too; its answer must not be sent.
        q.add(ANSWER_PARSE, null, 0);
        q.add(EXECUTE, null, 0);
        q.add(SYNC, null, 0);
        assertEquals("Z", serve(q, "Z"));
        assertFalse(q.isOpen());
    }

    @Test
    void simpleQueryAnswersPassUntilReadyForQuery() {
        ResponseQueue q = owed(ANSWER_PARSE, SYNC);
        q.add(QUERY, null, 1);
        assertEquals("1ZTDCTDECZ", serve(q, "ZTDCTDECZ"), "errors inside a simple query do not skip");
        assertFalse(q.isOpen());
    }

    @Test
    void asynchronousMessagesPassAnywhere() {
        ResponseQueue q = owed(BIND, EXECUTE, SYNC);
        assertEquals("N2SDAC" + "Z", serve(q, "N2SDACZ"));
    }

    @Test
    void anAnswerThatDoesNotFitIsLost() {
        ResponseQueue q = owed(BIND, SYNC);
        assertEquals(LOST, q.onResponse('1'));
    }

    @Test
    void windowStartsAfterTheRequestsSentBeforeIt() {
        ResponseQueue q = new ResponseQueue();
        assertFalse(q.tracks(0), "no window: fast path");
        q.open(new byte[] {BIND, EXECUTE}, 2, 3);
        q.add(ANSWER_CLOSE, null, 3);
        assertFalse(q.tracks(2), "answers to earlier requests pass uncounted");
        assertTrue(q.tracks(3));
        assertTrue(q.endsWithAnswer(), "a Flush now needs something the server answers");
        q.add(SYNC, null, 3);
        assertFalse(q.endsWithAnswer());
        assertEquals("2DC3Z", serve(q, "2DCZ"));
    }

    @Test
    void abandonTakesBackEverythingInFlight() {
        List<String> undone = new ArrayList<>();
        ResponseQueue q = new ResponseQueue();
        for (int i = 0; i < 40; i++) { // more than the initial ring
            int n = i;
            q.add(i % 2 == 0 ? ANSWER_PARSE : BIND, (Runnable) () -> undone.add("#" + n), 0);
        }
        q.abandon();
        assertEquals(40, undone.size());
        assertEquals("#0", undone.getFirst());
        assertFalse(q.isOpen());
    }
}
