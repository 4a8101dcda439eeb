package io.pgloom.config;

/** One meaningful line of an ini file after includes are expanded: comments and blanks are gone. */
sealed interface IniLine {

    Location location();

    /** {@code [name]}. */
    record SectionHeader(String name, Location location) implements IniLine {
    }

    /** {@code key = value}, key unquoted, value stripped of surrounding blanks. */
    record KeyValue(String key, String value, Location location) implements IniLine {
    }
}
