package org.openkcm.core.keystore;

/**
 * A keystore call failed; {@link Kind} tells whether the customer said no or the keystore was
 * unreachable.
 */
public final class L1KeystoreException extends RuntimeException {

  public enum Kind {
    /** No driver for the reference's scheme, malformed reference, wrong key type. */
    UNSUPPORTED_REFERENCE,
    /** The key does not exist (or no longer). */
    KEY_NOT_FOUND,
    /** The key exists but is disabled or pending deletion. */
    KEY_DISABLED,
    /** The keystore denied us the use of the key. */
    ACCESS_DENIED,
    /** The blob does not open with this key and context (altered, other key, other context). */
    INVALID_CIPHERTEXT,
    /** The keystore could not be reached or failed internally; may succeed later. */
    UNAVAILABLE
  }

  private final Kind kind;

  public L1KeystoreException(Kind kind, String message) {
    super(message, null, false, false);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }
}
