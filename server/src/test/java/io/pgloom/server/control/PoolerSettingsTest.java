package io.pgloom.server.control;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.pgloom.config.SettingValues;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** How server_check_query and server_check_delay read: when a check is due, what it sends, how long it may take. */
class PoolerSettingsTest {

    private static PoolerSettings with(String... nameValues) {
        SettingValues v = SettingValues.defaults();
        for (int i = 0; i < nameValues.length; i += 2) {
            v = v.with(nameValues[i], nameValues[i + 1]);
        }
        return PoolerSettings.from(v);
    }

    @Test
    void defaultSendsAnEmptyQueryAfterThirtySeconds() {
        PoolerSettings s = with();
        assertEquals("<empty>", s.serverCheckQuery());
        assertEquals("", s.checkQuerySql(), "<empty> is PgBouncer's word for an empty query");
        assertEquals(TimeUnit.SECONDS.toNanos(30), s.checkAfterNanos());
    }

    @Test
    void emptySettingTurnsChecksOff() {
        PoolerSettings s = with("server_check_query", "", "server_check_delay", "0");
        assertEquals(Long.MAX_VALUE, s.checkAfterNanos(), "never due, whatever the delay");
    }

    @Test
    void delayZeroChecksEveryReuse() {
        PoolerSettings s = with("server_check_query", "select 1", "server_check_delay", "0");
        assertEquals("select 1", s.checkQuerySql());
        assertEquals(0, s.checkAfterNanos());
    }

    @Test
    void fractionalDelay() {
        assertEquals(TimeUnit.MILLISECONDS.toNanos(1500), with("server_check_delay", "1.5").checkAfterNanos());
    }

    @Test
    void checkTimeoutIsServerConnectTimeoutOrFifteenSecondsWhenThatIsOff() {
        assertEquals(TimeUnit.SECONDS.toNanos(15), with().checkTimeoutNanos());
        assertEquals(TimeUnit.SECONDS.toNanos(2), with("server_connect_timeout", "2").checkTimeoutNanos());
        assertEquals(TimeUnit.SECONDS.toNanos(15), with("server_connect_timeout", "0").checkTimeoutNanos());
    }
}
