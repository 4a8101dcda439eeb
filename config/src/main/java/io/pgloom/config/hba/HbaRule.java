package io.pgloom.config.hba;

import java.util.Objects;

/**
 * One rule of {@code auth_hba_file}.
 *
 * @param location  file:line, named in the log when the rule decides a login
 * @param type      which connections it is about
 * @param databases the database field
 * @param users     the user field
 * @param address   the address field; null for a {@code local} rule
 * @param method    how a client it matches authenticates
 * @param map       the user name map of its {@code map=} option; null without one
 */
public record HbaRule(String location, RecordType type, NameList databases, NameList users, AddressRange address,
                      HbaMethod method, IdentMap map) {

    public HbaRule {
        Objects.requireNonNull(location, "location");
        Objects.requireNonNull(method, "method");
        if ((type == RecordType.LOCAL) != (address == null)) {
            throw new IllegalArgumentException("a local rule has no address, a host rule has one");
        }
    }

    /** True if this rule is the one for {@code client} (when no earlier rule is). */
    public boolean matches(HbaClient client) {
        if (!type.admits(client.isLocal(), client.tls())) {
            return false;
        }
        if (address != null && !address.matches(client.address())) {
            return false;
        }
        return databases.matchesDatabase(client.database(), client.user(), client.replication())
                && users.matchesUser(client.user());
    }

    @Override
    public String toString() {
        return location + " (" + type.configName() + " " + method.configName() + (map == null ? "" : " map=" + map.name()) + ")";
    }
}
