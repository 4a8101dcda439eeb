package io.pgloom.server.frontend;

import io.pgloom.wire.protocol.ProtocolException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The startup parameters that follow a client to whichever server it gets (PgBouncer's
 * varcache): which they are, how a client's values come from its startup packet, and how they
 * and the pool's welcome values make its login reply. A client's values live in its session as a
 * {@code String[]} indexed as {@link #TRACKED}: an array, because idle clients are many and a map
 * of six entries costs ten times the memory.
 *
 * <p>Threading: immutable tables and functions; a session's array is guarded by its link lock,
 * which callers hold where it matters.
 */
final class TrackedParameters {
    static final List<String> TRACKED = List.of("client_encoding", "DateStyle", "TimeZone", "IntervalStyle",
            "standard_conforming_strings", "application_name");
    static final int APPLICATION_NAME = TRACKED.indexOf("application_name");
    /** Lower-case name of each TRACKED parameter to its index there. */
    private static final Map<String, Integer> INDEX = index();

    private TrackedParameters() {
    }

    private static Map<String, Integer> index() {
        Map<String, Integer> m = new HashMap<>();
        for (int i = 0; i < TRACKED.size(); i++) {
            m.put(TRACKED.get(i).toLowerCase(Locale.ROOT), i);
        }
        return Map.copyOf(m);
    }

    /** The index of parameter {@code name} (any case) in TRACKED, or null if it is not tracked. */
    static Integer indexOf(String name) {
        return INDEX.get(name.toLowerCase(Locale.ROOT));
    }

    /**
     * Takes the tracked parameters of a startup packet into {@code values}; user and database are
     * not parameters, ignore_startup_parameters are dropped, anything else is refused as PgBouncer
     * refuses it.
     */
    static void takeStartup(Map<String, String> params, Set<String> ignored, String[] values) throws ProtocolException {
        for (Map.Entry<String, String> p : params.entrySet()) {
            String name = p.getKey();
            String lower = name.toLowerCase(Locale.ROOT);
            if (lower.equals("user") || lower.equals("database")) {
                continue;
            }
            Integer index = INDEX.get(lower);
            if (index != null) {
                values[index] = p.getValue();
            } else if (!ignored.contains(lower)) {
                throw new ProtocolException("unsupported startup parameter: " + name);
            }
        }
    }

    /**
     * The ParameterStatus values of a login reply: the pool's welcome values, overridden by what
     * the client set. What it did not set, it now knows the welcome value of: that goes into
     * {@code values}.
     */
    static Map<String, String> welcome(Map<String, String> welcome, String[] values) {
        Map<String, String> params = new LinkedHashMap<>(welcome);
        for (int i = 0; i < values.length; i++) {
            String name = TRACKED.get(i);
            if (values[i] != null) {
                params.put(name, values[i]);
            } else {
                values[i] = welcome.get(name);
            }
        }
        return params;
    }

    /** The values that are set, by name, in TRACKED's order. */
    static Map<String, String> asMap(String[] values) {
        Map<String, String> copy = new LinkedHashMap<>();
        for (int i = 0; i < values.length; i++) {
            if (values[i] != null) {
                copy.put(TRACKED.get(i), values[i]);
            }
        }
        return copy;
    }
}
