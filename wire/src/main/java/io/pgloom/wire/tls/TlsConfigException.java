package io.pgloom.wire.tls;

import java.nio.file.Path;

/**
 * A TLS setting that cannot be used: a key or certificate file that is missing or unreadable, a
 * protocol or cipher name pgloom does not know. The message names the file or the setting, so
 * that a failed start or RELOAD says what to fix.
 */
public final class TlsConfigException extends Exception {
    public TlsConfigException(String message) {
        super(message);
    }

    public TlsConfigException(Path file, String problem) {
        super(file + ": " + problem);
    }
}
