package io.pgloom.config;

import java.util.Objects;

/**
 * Something in the file that pgloom accepted but will not act on the way the file asks (an
 * unsupported setting, an unknown section). Printed by {@code pgloom check} and logged at start.
 *
 * @param location "file:line"
 */
public record ConfigWarning(String location, String message) {

    public ConfigWarning {
        Objects.requireNonNull(location, "location");
        Objects.requireNonNull(message, "message");
    }

    @Override
    public String toString() {
        return location + ": " + message;
    }
}
