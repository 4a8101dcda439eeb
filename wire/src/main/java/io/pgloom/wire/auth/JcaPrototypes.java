package io.pgloom.wire.auth;

import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Fresh {@link MessageDigest} and {@link Mac} objects cloned from prototypes made once.
 *
 * <p>Why: {@code MessageDigest.getInstance} and {@code Mac.getInstance} leave a ThreadLocal entry
 * ({@code java.security.Provider}'s provider-lookup cache) on the thread that calls them. Client
 * logins run on each client's own virtual thread, so every idle client would keep that entry, and
 * its thread-local map, for as long as it stays connected. A clone of a prototype whose provider
 * is already chosen does no lookup. Prototypes are never updated, so cloning them is safe from any
 * thread.
 */
final class JcaPrototypes {
    private JcaPrototypes() {}

    static MessageDigest newDigest(String algorithm) {
        try {
            return MessageDigest.getInstance(algorithm);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no " + algorithm, e);
        }
    }

    /** A Mac with its provider chosen (initialised once with a throw-away key). */
    static Mac newMac(String algorithm) {
        try {
            Mac mac = Mac.getInstance(algorithm);
            mac.init(new SecretKeySpec(new byte[1], algorithm));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("the JDK has no " + algorithm, e);
        }
    }

    static MessageDigest copy(MessageDigest prototype) {
        try {
            return (MessageDigest) prototype.clone();
        } catch (CloneNotSupportedException e) {
            throw new IllegalStateException("the JDK's " + prototype.getAlgorithm() + " cannot be cloned", e);
        }
    }

    /** A copy of {@code prototype} initialised with {@code key}. */
    static Mac copy(Mac prototype, SecretKeySpec key) {
        try {
            Mac mac = (Mac) prototype.clone();
            mac.init(key);
            return mac;
        } catch (CloneNotSupportedException | GeneralSecurityException e) {
            throw new IllegalStateException("the JDK's " + prototype.getAlgorithm() + " cannot be cloned", e);
        }
    }
}
