package io.pgloom.config;

import java.io.Serial;

/** A configuration file pgloom refuses to start from; the message starts with "file:line: ". */
public final class ConfigException extends Exception {

    @Serial
    private static final long serialVersionUID = 1L;

    private final String location;

    /** @param location "file:line", or the file alone when the whole file is at fault */
    public ConfigException(String location, String message) {
        super(location + ": " + message);
        this.location = location;
    }

    ConfigException(Location location, String message) {
        this(location.toString(), message);
    }

    public String location() {
        return location;
    }
}
