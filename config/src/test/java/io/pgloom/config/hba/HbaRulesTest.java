package io.pgloom.config.hba;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.pgloom.config.ConfigException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The first-match rule of an hba file, over every record type, list form, address form and keyword. */
class HbaRulesTest {

    /** Line numbers matter: the expected rule of each case below is named by its line. */
    private static final String RULES = """
            # rules for HbaRulesTest
            local     shop          all                    peer  map=ops
            local     all           "Ana Maria"            password
            local     sameuser      all                    trust
            local     all           all                    scram-sha-256
            hostssl   all           all      10.20.0.0/16  cert
            hostnossl all           all      10.20.0.0/16  md5
            host      "all"         "all"    10.30.0.0/16  trust   # quoted: the names, not the keyword
            host      db1,db2 , db3 u1,@staff.txt  10.40.0.0  255.255.0.0  password
            host      replication   repl     ::1/128       trust
            host      all           all      fd00:abcd::/32  scram-sha-256
            host      "q""uote"     "a , b"  10.50.0.0/16  reject
            host      all           blocked  all           reject
            host      all           all      0.0.0.0/0     md5
            """;

    private static final String STAFF = """
            # included by line 9
            carol, dave
              erin  # and a comment
            """;

    private static final String IDENT = """
            # MAPNAME  SYSTEM-USERNAME   PG-USERNAME
            ops        ana               shop_admin
            ops        ana               "reader"
            ops        /^(.*)@corp$      \\1
            ops        /^svc-            all
            other      root              all
            """;

    private static HbaRules rules;
    private static Map<String, IdentMap> maps;

    @BeforeAll
    static void load(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("staff.txt"), STAFF);
        maps = IdentFile.load(Files.writeString(dir.resolve("ident.conf"), IDENT), "ident.conf");
        rules = HbaFile.load(Files.writeString(dir.resolve("hba.conf"), RULES), "conf/hba.conf", maps, "ident.conf");
    }

    @ParameterizedTest(name = "{0} {1} tls={2} {3}/{4} -> {5}")
    @CsvSource(delimiter = '|', nullValues = "-", textBlock = """
            local       | -               | false | shop        | ana       | 2
            local       | -               | false | app         | Ana Maria | 3
            local       | -               | false | bob         | bob       | 4
            local       | -               | false | app         | bob       | 5
            host        | 10.20.1.1       | true  | app         | bob       | 6
            host        | 10.20.1.1       | false | app         | bob       | 7
            host        | 10.30.0.9       | false | all         | all       | 8
            host        | 10.30.0.9       | false | app         | bob       | 14
            host        | 10.40.3.3       | false | db3         | u1        | 9
            host        | 10.40.3.3       | false | db2         | erin      | 9
            host        | 10.40.3.3       | false | db1         | frank     | 14
            host        | 10.41.3.3       | false | db1         | u1        | 14
            replication | ::1             | false | anything    | repl      | 10
            replication | ::1             | false | anything    | bob       | none
            host        | ::1             | false | replication | repl      | none
            host        | fd00:abcd:1::5  | false | app         | bob       | 11
            host        | fd00:abce::5    | false | app         | bob       | none
            host        | 10.50.0.1       | false | q"uote      | a , b     | 12
            host        | 10.50.0.1       | false | q"uote      | a         | 14
            host        | 1.2.3.4         | false | app         | blocked   | 13
            host        | 1.2.3.4         | true  | app         | bob       | 14
            """)
    void theFirstMatchingRuleDecides(String kind, String address, boolean tls, String database, String user,
                                     String expectedLine) throws Exception {
        HbaClient client = switch (kind) {
            case "local" -> HbaClient.local(database, user);
            case "host" -> HbaClient.host(InetAddress.getByName(address), tls, database, user);
            default -> HbaClient.host(InetAddress.getByName(address), tls, database, user).asReplication();
        };
        assertEquals(expectedLine, rules.match(client).map(r -> r.location().substring(r.location().lastIndexOf(':') + 1))
                .orElse("none"));
    }

    @Test
    void rulesKeepTheirMethodMapAndFileLine() throws Exception {
        HbaRule peer = rules.match(HbaClient.local("shop", "x")).orElseThrow();
        assertEquals("conf/hba.conf:2", peer.location());
        assertEquals(HbaMethod.PEER, peer.method());
        assertEquals("ops", peer.map().name());
        assertEquals(HbaMethod.SCRAM_SHA_256, rules.match(HbaClient.local("app", "x")).orElseThrow().method());
        assertNull(rules.match(HbaClient.local("app", "x")).orElseThrow().map());
        assertEquals(13, rules.rules().size());
        assertTrue(rules.warnings().isEmpty(), rules.warnings().toString());
    }

    @ParameterizedTest(name = "{0} as {1}: {2}")
    @CsvSource(delimiter = '|', textBlock = """
            ana          | shop_admin | true
            ana          | reader     | true
            ana          | bob        | false
            anna         | shop_admin | false
            bob@corp     | bob        | true
            bob@corp     | alice      | false
            bob@corpx    | bob        | false
            svc-billing  | anyone     | true
            my-svc-x     | anyone     | false
            """)
    void identMapsTakeNamesRegularExpressionsAndBackReferences(String osUser, String user, boolean permitted) {
        assertEquals(permitted, maps.get("ops").permits(osUser, user));
    }

    @Test
    void identMapsAreSeparate() {
        assertTrue(maps.get("other").permits("root", "anyone"));
        assertFalse(maps.get("ops").permits("root", "anyone"));
        assertEquals("ident.conf:4", maps.get("ops").lines().get(2).location());
    }

    @Test
    void anAddressWithHostBitsIsKeptWithAWarningAndMatchesNobodyAsInPgBouncer(@TempDir Path dir) throws Exception {
        HbaRules loaded = HbaFile.load(Files.writeString(dir.resolve("h"), "host all all 10.1.2.3/8 trust\n"), "h", null, null);
        assertEquals("h:1: address 10.1.2.3/8 has bits set outside its netmask: this rule matches no client, as in"
                + " PgBouncer (did you mean the network address?)", loaded.warnings().getFirst().toString());
        assertTrue(loaded.match(HbaClient.host(InetAddress.getByName("10.1.2.3"), false, "a", "b")).isEmpty());
    }

    @Test
    void anIncludedFileNamesItsOwnLineInErrors(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("team.txt"), "alice\n+admins\n");
        Path hba = Files.writeString(dir.resolve("hba.conf"), "# x\nhost all @team.txt all trust\n");
        ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> HbaFile.load(hba, "hba.conf", null, null));
        assertEquals("team.txt:2: group membership (+admins) is not supported, as in PgBouncer: list the users, or put"
                + " them in an @file", e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', textBlock = """
            hostgssenc all all all trust       | unknown record type hostgssenc: expected local, host, hostssl or hostnossl (PgBouncer has no GSSAPI encryption)
            host all +admins all trust         | group membership (+admins) is not supported, as in PgBouncer: list the users, or put them in an @file
            host samerole all all trust        | samerole is not supported (PgBouncer has no roles to check)
            host all all 10.0.0.0/33 trust     | invalid prefix length /33: expected 0 to 32
            host all all ::/129 trust          | invalid prefix length /129: expected 0 to 128
            host all all db.example.com trust  | invalid address 'db.example.com': expected an IPv4 or IPv6 address (host names are not supported)
            host all all 300.1.1.1/8 trust     | invalid IPv4 address '300.1.1.1'
            host all all samenet trust         | samenet is not supported, as in PgBouncer: write the addresses in CIDR form, e.g. 127.0.0.1/32
            host all all 10.0.0.0 trust        | invalid netmask 'trust': expected an IPv4 or IPv6 address
            host all all 10.0.0.0 ffff:: md5   | the netmask ffff:: is not of the same IP version as 10.0.0.0
            host all all 10.0.0.0/8            | no authentication method: expected one of trust, reject, md5, password, scram-sha-256, peer, cert
            local all all ldap                 | method ldap is not supported by pgloom
            local all all gss2                 | unknown method gss2: expected one of trust, reject, md5, password, scram-sha-256, peer, cert
            local all all md5 map=ops          | map=ops applies to methods peer and cert only, not md5
            local all all peer map=nomap       | ident map nomap is not defined in ident.conf
            local all all peer clientcert=1    | unknown option clientcert=1: pgloom knows map=NAME
            local all all trust,reject         | the method field is a list (trust,reject); only databases and users may be lists
            local all, peer                    | expected local DATABASE USER METHOD [OPTIONS]
            host all all                       | expected host DATABASE USER ADDRESS METHOD [OPTIONS]
            local all alice, trust             | no authentication method: expected one of trust, reject, md5, password, scram-sha-256, peer, cert
            local all alice,                   | the list alice, ends with a comma
            local "all all peer                | the quoted name "all all peer has no closing double quote
            local all ali"ce" peer             | a double quote inside ali"...: quote the whole name
            local all @missing.txt trust       | missing.txt: no such file
            """)
    void refusesABrokenLineWithFileAndLine(String line, String message, @TempDir Path dir) throws Exception {
        Path hba = Files.writeString(dir.resolve("hba.conf"), "# the next line is broken\n" + line + "\n");
        ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> HbaFile.load(hba, "hba.conf", maps, "ident.conf"));
        String expected = message.startsWith("missing.txt") ? message : "hba.conf:2: " + message;
        assertEquals(expected, e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '\'', textBlock = """
            m a                  | expected 3 fields (MAPNAME SYSTEM-USERNAME PG-USERNAME), found 2
            m a b c              | expected 3 fields (MAPNAME SYSTEM-USERNAME PG-USERNAME), found 4
            m a,b c              | a list is not allowed in a user name map: a,b
            m /([a-z b           | invalid regular expression /([a-z: Unclosed character class
            m /^x$ \\1           | \\1 uses \\1 but /^x$ has no group in parentheses
            m a /b               | PG-USERNAME /b: regular expressions and +group are not supported there; write a user name or all
            """)
    void refusesABrokenIdentLineWithFileAndLine(String line, String message, @TempDir Path dir) throws IOException {
        Path ident = Files.writeString(dir.resolve("ident.conf"), "\n" + line.replace("\\\\", "\\") + "\n");
        ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(ConfigException.class,
                () -> IdentFile.load(ident, "ident.conf"));
        assertEquals("ident.conf:2: " + message.replace("\\\\", "\\"), e.getMessage());
    }
}
