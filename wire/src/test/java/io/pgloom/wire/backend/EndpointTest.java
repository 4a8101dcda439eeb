package io.pgloom.wire.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgloom.config.DatabaseEntry;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The endpoints a [databases] entry names. */
class EndpointTest {

    private static DatabaseEntry entry(List<String> hosts, int port) {
        return new DatabaseEntry("app", hosts, port, null, null, null, OptionalInt.empty(), OptionalInt.empty(),
                OptionalInt.empty(), Optional.empty(), OptionalInt.empty(), null, null, null, null, null, Map.of(), "test:1");
    }

    @Test
    void eachHostOfTheListAtTheEntrysPortInOrder() {
        assertEquals(List.of(new Endpoint("db2", 5433), new Endpoint("db1", 5433)), Endpoint.of(entry(List.of("db2", "db1"), 5433)));
    }

    @Test
    void eachHostAtItsOwnPortFromAPortList() {
        DatabaseEntry db = new DatabaseEntry("app", List.of("pg1", "pg2"), 5432, null, null, null, OptionalInt.empty(),
                OptionalInt.empty(), OptionalInt.empty(), Optional.empty(), OptionalInt.empty(), null, null, null, null, null,
                Map.of("host", "pg1,pg2", "port", "5432,6543"), "test:1");
        assertEquals(List.of(new Endpoint("pg1", 5432), new Endpoint("pg2", 6543)), Endpoint.of(db));
    }

    @Test
    void anEntryWithoutHostsGetsTheLoopbackAddress() {
        assertEquals(List.of(new Endpoint("127.0.0.1", 6000)), Endpoint.of(entry(List.of(), 6000)));
    }
}
