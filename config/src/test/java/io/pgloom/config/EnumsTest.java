package io.pgloom.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class EnumsTest {

    @Test
    void poolModesParseCaseInsensitivelyAndPrintAsInTheFile() {
        assertEquals(PoolMode.SESSION, PoolMode.parse("session"));
        assertEquals(PoolMode.TRANSACTION, PoolMode.parse("Transaction"));
        assertEquals(PoolMode.STATEMENT, PoolMode.parse("STATEMENT"));
        assertEquals("transaction", PoolMode.TRANSACTION.configName());
    }

    @Test
    void refusesAnUnknownPoolMode() {
        var e = assertThrows(IllegalArgumentException.class, () -> PoolMode.parse("tx"));
        assertEquals("unknown pool mode 'tx': expected one of session, transaction, statement", e.getMessage());
    }

    @Test
    void authTypesUsePgBouncersSpelling() {
        assertEquals(AuthType.SCRAM_SHA_256, AuthType.parse("scram-sha-256"));
        assertEquals(AuthType.MD5, AuthType.parse("MD5"));
        assertEquals("scram-sha-256", AuthType.SCRAM_SHA_256.configName());
        for (AuthType type : AuthType.values()) {
            assertEquals(type, AuthType.parse(type.configName()));
        }
    }

    @Test
    void refusesLdapByNameAndUnknownAuthTypes() {
        assertEquals("auth type 'ldap' is not supported by pgloom yet",
                assertThrows(IllegalArgumentException.class, () -> AuthType.parse("ldap")).getMessage());
        assertEquals("unknown auth type 'scram_sha_256': expected one of trust, plain, md5, scram-sha-256, peer, cert,"
                + " hba, pam, any", assertThrows(IllegalArgumentException.class, () -> AuthType.parse("scram_sha_256")).getMessage());
    }
}
