package io.pgloom.config.hba;

import io.pgloom.config.ConfigWarning;
import java.util.List;
import java.util.Optional;

/**
 * The rules of one load of {@code auth_hba_file}, in file order (includes in place). Immutable: a
 * reload makes a new one.
 *
 * @param file     the file as named in the config
 * @param rules    the rules in the order they are tried
 * @param warnings what was accepted but is probably a mistake (a rule that can match nobody)
 */
public record HbaRules(String file, List<HbaRule> rules, List<ConfigWarning> warnings) {

    public HbaRules {
        rules = List.copyOf(rules);
        warnings = List.copyOf(warnings);
    }

    /** The first rule that matches {@code client}: it alone decides, as in PostgreSQL. Empty: no rule, refused. */
    public Optional<HbaRule> match(HbaClient client) {
        for (HbaRule rule : rules) {
            if (rule.matches(client)) {
                return Optional.of(rule);
            }
        }
        return Optional.empty();
    }
}
