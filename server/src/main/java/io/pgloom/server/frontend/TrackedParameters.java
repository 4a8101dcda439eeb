package io.pgloom.server.frontend;

import io.pgloom.wire.protocol.Backend;
import io.pgloom.wire.protocol.ProtocolException;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The startup parameters that follow a client to whichever server it gets (PgBouncer's
 * varcache): which they are, how a client's values come from its startup packet, and how they
 * and the pool's welcome values make its login reply. A client's values live in its session as a
 * {@code String[]} indexed as {@link #name}: an array, because idle clients are many and a map
 * of six entries costs ten times the memory.
 *
 * <p>Which they are: PgBouncer's five, always, then track_extra_parameters (IntervalStyle by
 * default). That setting needs a restart in PgBouncer, so one instance serves a pooler's life.
 * As in PgBouncer, a parameter is followed through the ParameterStatus messages the server sends,
 * so an extra one PostgreSQL does not report (search_path before PostgreSQL 18) follows the
 * client only with the value from its startup packet.
 *
 * <p>Threading: immutable but for a one-entry cache of the last login reply's encoded
 * ParameterStatus messages, an immutable record behind a volatile field; a session's array is
 * guarded by its own monitor, which callers hold where it matters.
 */
public final class TrackedParameters {
    private static final List<String> ALWAYS = List.of("client_encoding", "DateStyle", "TimeZone",
            "standard_conforming_strings", "application_name");
    static final int APPLICATION_NAME = ALWAYS.indexOf("application_name");
    /**
     * The parameters PostgreSQL reports (GUC_REPORT), as it spells them: an extra parameter
     * written in another case is kept in this spelling, so that it matches the server's
     * ParameterStatus and no needless SET is sent.
     */
    private static final List<String> REPORTED = List.of("application_name", "client_encoding", "DateStyle",
            "default_transaction_read_only", "in_hot_standby", "integer_datetimes", "IntervalStyle", "is_superuser",
            "scram_iterations", "search_path", "server_encoding", "server_version", "session_authorization",
            "standard_conforming_strings", "TimeZone");

    /** How many distinct values {@link #canonical} keeps; past it, values stay as they come. */
    static final int CANONICAL_LIMIT = 10_000;

    private final List<String> names;
    /** Lower-case name of each tracked parameter to its index in {@link #names}. */
    private final Map<String, Integer> index;
    /** One instance per distinct value (see {@link #canonical}). */
    private final ConcurrentHashMap<String, String> canonical = new ConcurrentHashMap<>();
    /** The last {@link #welcomeMessages} encoded: most logins of a pool bring the same values. */
    private volatile Encoded lastEncoded;

    /** A welcome map and a client's values as they came, the values as filled in, and the encoded messages. */
    private record Encoded(Map<String, String> welcome, String[] given, String[] filled, byte[] messages) {}

    /** @param extra track_extra_parameters, any case; duplicates of the five tracked always are dropped */
    public TrackedParameters(List<String> extra) {
        List<String> all = new ArrayList<>(ALWAYS);
        for (String name : extra) {
            String spelled = REPORTED.stream().filter(name::equalsIgnoreCase).findFirst().orElse(name);
            if (all.stream().noneMatch(spelled::equalsIgnoreCase)) {
                all.add(spelled);
            }
        }
        this.names = List.copyOf(all);
        Map<String, Integer> m = new HashMap<>();
        for (int i = 0; i < names.size(); i++) {
            m.put(names.get(i).toLowerCase(Locale.ROOT), i);
        }
        this.index = Map.copyOf(m);
    }

    /** How many parameters are tracked: the length of a client's values array. */
    int size() {
        return names.size();
    }

    /**
     * The one instance of {@code value} that clients and servers share, so that a client linking a
     * server compares its values with theirs by identity (String#equals looks at the contents only
     * when the instances differ). With a thousand clients, the contents of six strings per client
     * and per server are cold in the processor's cache, and reading them showed as 2% of the
     * pooler's time; PgBouncer's parameter cache interns its strings for the same reason. At most
     * {@link #CANONICAL_LIMIT} values are kept (unique application names must not grow it without
     * bound); past that a value stays as it came, and the comparison reads its contents.
     */
    public String canonical(String value) {
        if (value == null) {
            return null;
        }
        String known = canonical.get(value);
        if (known != null) {
            return known;
        }
        if (canonical.size() >= CANONICAL_LIMIT) {
            return value;
        }
        known = canonical.putIfAbsent(value, value);
        return known != null ? known : value;
    }

    /** Every tracked name, in index order: one list for the pooler's life. */
    List<String> names() {
        return names;
    }

    /** The name of the parameter at {@code i}, as PostgreSQL spells it when it reports it. */
    String name(int i) {
        return names.get(i);
    }

    /** The index of parameter {@code name} (any case), or null if it is not tracked. */
    Integer indexOf(String name) {
        return index.get(name.toLowerCase(Locale.ROOT));
    }

    /**
     * Takes the tracked parameters of a startup packet into {@code values}; user and database are
     * not parameters, ignore_startup_parameters are dropped, anything else is refused as PgBouncer
     * refuses it.
     */
    void takeStartup(Map<String, String> params, Set<String> ignored, String[] values) throws ProtocolException {
        for (Map.Entry<String, String> p : params.entrySet()) {
            String name = p.getKey();
            String lower = name.toLowerCase(Locale.ROOT);
            if (lower.equals("user") || lower.equals("database")) {
                continue;
            }
            if (lower.equals("options")) {
                takeOptions(p.getValue(), ignored, values);
                continue;
            }
            Integer i = index.get(lower);
            if (i != null) {
                values[i] = canonical(p.getValue());
            } else if (!ignored.contains(lower)) {
                throw new ProtocolException("unsupported startup parameter: " + name);
            }
        }
    }

    /**
     * The {@code options} startup parameter, as PgBouncer takes it: {@code -c name=value} (or
     * {@code -cname=value}) and {@code --name=value} settings, split at unescaped white space, a
     * backslash escaping the next character, as PostgreSQL reads them. Tracked parameters are taken,
     * ignore_startup_parameters are dropped, others refused unless {@code options} itself is in
     * ignore_startup_parameters; anything but a setting is refused.
     */
    private void takeOptions(String options, Set<String> ignored, String[] values) throws ProtocolException {
        List<String> words = splitOptions(options);
        for (int w = 0; w < words.size(); w++) {
            String word = words.get(w);
            String setting;
            if (word.equals("-c") && w + 1 < words.size()) {
                setting = words.get(++w);
            } else if (word.startsWith("-c") && word.length() > 2) {
                setting = word.substring(2);
            } else if (word.startsWith("--") && word.length() > 2) {
                setting = word.substring(2);
            } else {
                throw badOptions();
            }
            int eq = setting.indexOf('=');
            if (eq <= 0) {
                throw badOptions();
            }
            String lower = setting.substring(0, eq).toLowerCase(Locale.ROOT);
            Integer i = index.get(lower);
            if (i != null) {
                values[i] = canonical(setting.substring(eq + 1));
            } else if (!ignored.contains(lower) && !ignored.contains("options")) {
                throw new ProtocolException("unsupported startup parameter in options: " + setting.substring(0, eq));
            }
        }
    }

    private static ProtocolException badOptions() {
        return new ProtocolException(
                "unsupported options startup parameter: only '-c config=val' and '--config=val' are allowed");
    }

    /** PostgreSQL's split of {@code options}: white space separates, a backslash takes the next character as is. */
    static List<String> splitOptions(String options) {
        List<String> words = new ArrayList<>();
        StringBuilder word = new StringBuilder();
        boolean inWord = false;
        for (int k = 0; k < options.length(); k++) {
            char c = options.charAt(k);
            if (Character.isWhitespace(c)) {
                if (inWord) {
                    words.add(word.toString());
                    word.setLength(0);
                    inWord = false;
                }
                continue;
            }
            inWord = true;
            if (c == '\\' && k + 1 < options.length()) {
                c = options.charAt(++k);
            }
            word.append(c);
        }
        if (inWord) {
            words.add(word.toString());
        }
        return words;
    }

    /**
     * The ParameterStatus values of a login reply: the pool's welcome values, overridden by what
     * the client set. What it did not set, it now knows the welcome value of: that goes into
     * {@code values}.
     */
    private Map<String, String> welcome(Map<String, String> welcome, String[] values) {
        Map<String, String> params = new LinkedHashMap<>(welcome);
        for (int i = 0; i < values.length; i++) {
            String name = names.get(i);
            if (values[i] != null) {
                params.put(name, values[i]);
            } else {
                values[i] = welcome.get(name);
            }
        }
        return params;
    }

    /**
     * {@link #welcome} encoded as ParameterStatus messages, for the login reply. Logins that bring
     * the values the last one brought, to the same pool (the same welcome map), reuse its bytes:
     * the reply is the same, and building it was a map, a lookup per parameter and a message each.
     */
    byte[] welcomeMessages(Map<String, String> welcome, String[] values) {
        Encoded last = lastEncoded;
        if (last != null && last.welcome() == welcome && Arrays.equals(last.given(), values)) {
            System.arraycopy(last.filled(), 0, values, 0, values.length);
            return last.messages();
        }
        String[] given = values.clone();
        ByteArrayOutputStream messages = new ByteArrayOutputStream(384);
        for (Map.Entry<String, String> p : welcome(welcome, values).entrySet()) {
            messages.writeBytes(Backend.parameterStatus(p.getKey(), p.getValue()));
        }
        byte[] bytes = messages.toByteArray();
        lastEncoded = new Encoded(welcome, given, values.clone(), bytes);
        return bytes;
    }

    /** The values that are set, by name, in tracking order. */
    Map<String, String> asMap(String[] values) {
        Map<String, String> copy = new LinkedHashMap<>();
        for (int i = 0; i < values.length; i++) {
            if (values[i] != null) {
                copy.put(names.get(i), values[i]);
            }
        }
        return copy;
    }
}
