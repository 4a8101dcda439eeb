package io.pgloom.tests;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.wire.protocol.ErrorResponse;
import io.pgloom.wire.protocol.MessageBuilder;
import java.net.Socket;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** max_client_conn, query_wait_timeout, cancel routing, reload. */
class LimitsAndCancelTest {

    @Test
    void clientsOverMaxClientConnAreToldWhy() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "max_client_conn = 2\n");
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            SQLException e = assertThrows(SQLException.class, p::connect);
            assertEquals("08P01", e.getSQLState());
            assertTrue(e.getMessage().contains("no more connections allowed (max_client_conn)"), e.getMessage());
            b.terminate();
            b.close();
            Thread.sleep(200);
            try (Connection c = p.connect()) {
                assertFalse(c.isClosed(), "a freed slot can be used again");
            }
            assertEquals("1", RawClient.firstValue(a.simpleQuery("SELECT 1")));
        }
    }

    @Test
    void clientWaitingLongerThanQueryWaitTimeoutGetsItsError() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "default_pool_size = 1\nquery_wait_timeout = 1\n");
                RawClient holder = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient waiter = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            holder.simpleQuery("BEGIN");
            waiter.send(RawClient.query("SELECT 1"));
            ErrorResponse e = waiter.readError();
            assertEquals("query_wait_timeout", e.message());
            assertEquals("08P01", e.sqlState());
            assertTrue(waiter.closedByPeer());
            holder.simpleQuery("COMMIT");
            assertEquals("2", RawClient.firstValue(holder.simpleQuery("SELECT 2")));
        }
    }

    @Test
    void cancelStopsTheClientsOwnQuery() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", ""); Connection c = p.connect(); Statement s = c.createStatement()) {
            CompletableFuture<Void> cancel = CompletableFuture.runAsync(() -> {
                try {
                    Thread.sleep(500);
                    s.cancel();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            SQLException e = assertThrows(SQLException.class, () -> s.execute("SELECT pg_sleep(30)"));
            assertEquals("57014", e.getSQLState(), e.getMessage());
            cancel.get(10, TimeUnit.SECONDS);
            assertTrue(s.execute("SELECT 1"), "the connection goes on after a cancel");
        }
    }

    @Test
    void staleCancelNeverHitsTheNextClientOfThatServer() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "default_pool_size = 1\n");
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app");
                RawClient b = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            a.simpleQuery("SELECT 1"); // a is done; the one server goes back to the pool
            b.send(RawClient.query("SELECT pg_sleep(1.5), 'b finished'"));
            Thread.sleep(300);
            // a (no longer running anything) sends a cancel with its key: it must not touch b's query.
            try (Socket cancel = new Socket("127.0.0.1", p.port())) {
                cancel.getOutputStream().write(new MessageBuilder().int32(80877102).int32(a.backendPid).int32(a.backendSecret).build());
                cancel.getOutputStream().flush();
                cancel.setSoTimeout(5000);
                assertEquals(-1, cancel.getInputStream().read(), "pgloom closes the cancel connection");
            }
            List<RawClient.Message> answer = b.readUntil('Z');
            assertTrue(answer.stream().noneMatch(m -> m.type() == 'E'), "b's query was not canceled");
            assertTrue(answer.stream().anyMatch(m -> m.type() == 'D' && m.text().contains("b finished")));
        }
    }

    @Test
    void cancelWithWrongSecretIsIgnored() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "");
                RawClient a = new RawClient(p.port()).login("alice", "alice-secret", "app")) {
            a.send(RawClient.query("SELECT pg_sleep(1), 'a finished'"));
            try (Socket cancel = new Socket("127.0.0.1", p.port())) {
                cancel.getOutputStream().write(new MessageBuilder().int32(80877102).int32(a.backendPid).int32(a.backendSecret + 1).build());
                cancel.getOutputStream().flush();
            }
            List<RawClient.Message> answer = a.readUntil('Z');
            assertTrue(answer.stream().noneMatch(m -> m.type() == 'E'));
        }
    }

    @Test
    void reloadAppliesAGoodConfigAndRefusesABrokenOne() throws Exception {
        try (Pgloom p = Pgloom.start("transaction", "")) {
            String good = Files.readString(p.ini);
            Files.writeString(p.ini, good + "\nquery_wait_timeout = not-a-number\n");
            assertFalse(p.server.reload(), "a broken config is refused");
            try (Connection c = p.connect()) {
                assertFalse(c.isClosed(), "the old config keeps serving");
            }
            Files.writeString(p.ini, good.replace("default_pool_size = 5", "default_pool_size = 7"));
            assertTrue(p.server.reload());
            assertEquals(7, p.server.pooler().settings().defaultPoolSize());
        }
    }
}
