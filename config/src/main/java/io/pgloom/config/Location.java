package io.pgloom.config;

/** A line of a configuration file, printed as {@code file:line} in every message. */
record Location(String file, int line) {

    @Override
    public String toString() {
        return file + ":" + line;
    }
}
