package io.pgloom.server.statements;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.wire.protocol.MessageBuilder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class StatementRegistryTest {

    /** The Parse body after the name: query, NUL, parameter count, OIDs. */
    private static byte[] body(String sql, int... oids) {
        MessageBuilder m = new MessageBuilder('P').cstring(sql).int16(oids.length);
        for (int oid : oids) {
            m.int32(oid);
        }
        byte[] msg = m.build();
        return Arrays.copyOfRange(msg, 5, msg.length);
    }

    @Test
    void sameTextAndTypesShareOneServerName() {
        StatementRegistry r = new StatementRegistry();
        StatementRegistry.Statement a = r.register(body("SELECT $1", 23));
        StatementRegistry.Statement b = r.register(body("SELECT $1", 23));
        assertSame(a, b);
        assertTrue(a.name.startsWith("PGLOOM_"));
    }

    @Test
    void differentTypesOrTextAreDifferentStatements() {
        StatementRegistry r = new StatementRegistry();
        StatementRegistry.Statement a = r.register(body("SELECT $1", 23));
        assertNotEquals(a.name, r.register(body("SELECT $1", 25)).name);
        assertNotEquals(a.name, r.register(body("SELECT $1")).name);
        assertNotEquals(a.name, r.register(body("SELECT  $1", 23)).name);
    }

    @Test
    void parseAndCloseUseTheServerName() {
        StatementRegistry.Statement s = new StatementRegistry().register(body("SELECT 1"));
        byte[] parse = s.parseMessage();
        assertEquals('P', parse[0]);
        String text = new String(parse, 5, parse.length - 5, StandardCharsets.US_ASCII);
        assertTrue(text.startsWith(s.name + "\0SELECT 1\0"), text);
        byte[] close = s.closeMessage();
        assertEquals("C", new String(close, 0, 1, StandardCharsets.US_ASCII));
        assertEquals("S" + s.name + "\0", new String(close, 5, close.length - 5, StandardCharsets.US_ASCII));
    }

    @Test
    void forgottenStatementsLeaveTheRegistry() throws Exception {
        StatementRegistry r = new StatementRegistry();
        List<StatementRegistry.Statement> held = new ArrayList<>();
        held.add(r.register(body("SELECT 'kept'")));
        for (int i = 0; i < 1000; i++) {
            r.register(body("SELECT " + i));
        }
        for (int round = 0; round < 50 && r.size() > 1; round++) {
            System.gc();
            Thread.sleep(20);
            r.register(body("SELECT 'kept'")); // registering purges what was collected
        }
        assertEquals(1, r.size(), "only the statement still named somewhere stays");
        assertSame(held.getFirst(), r.register(body("SELECT 'kept'")));
    }

    @Test
    void dropDetectionReadsDiscardAndDeallocate() {
        assertTrue(PreparedStatements.mentionsDrop("DISCARD ALL"));
        assertTrue(PreparedStatements.mentionsDrop("  deallocate pgloom_3"));
        assertFalse(PreparedStatements.mentionsDrop("SELECT 1"));
        assertTrue(PreparedStatements.mentionsDrop("select 1; Discard all"), "a word at the very end");
        assertTrue(PreparedStatements.mentionsDrop("SELECT d FROM t; DEALLOCATE s"), "a D that starts neither word comes first");
        assertFalse(PreparedStatements.mentionsDrop("SELECT 'DISCAR'"), "a prefix only");
        assertFalse(PreparedStatements.mentionsDrop("DEALLOCAT"));
        assertFalse(PreparedStatements.mentionsDrop(""));
        assertTrue(PreparedStatements.dropsAll(" discard   all ;\0"));
        assertTrue(PreparedStatements.dropsAll("DEALLOCATE PREPARE ALL"));
        assertTrue(PreparedStatements.dropsAll("deallocate all"));
        assertFalse(PreparedStatements.dropsAll("DEALLOCATE S_1"));
        assertFalse(PreparedStatements.dropsAll("DISCARD PLANS"));
    }
}
