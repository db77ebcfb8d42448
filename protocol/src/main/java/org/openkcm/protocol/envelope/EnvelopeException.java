package org.openkcm.protocol.envelope;

/**
 * A wrapped-key envelope (or the context presented with it) was rejected. The {@link Reason} is
 * stable and machine-readable; the message says what to do and never contains key material.
 */
public final class EnvelopeException extends Exception {

  /** Stable reasons; their names are part of the public API (gRPC reason codes). */
  public enum Reason {
    /** Fewer bytes than the header announces: cut off in storage or transit. */
    ENVELOPE_TRUNCATED,
    /** Does not start with the OpenKCM magic bytes: not an envelope. */
    ENVELOPE_BAD_MAGIC,
    /** A format version this build does not read. */
    ENVELOPE_UNSUPPORTED_VERSION,
    /**
     * Structurally invalid: bad identifier, zero L3 version, ciphertext of an impossible length.
     */
    ENVELOPE_MALFORMED,
    /** The envelope belongs to another tenant than the one named in the request. */
    ENVELOPE_TENANT_MISMATCH,
    /** The envelope belongs to another service than the one named in the request. */
    ENVELOPE_SERVICE_MISMATCH,
    /** The authentication tag does not verify: the envelope was altered or the context differs. */
    ENVELOPE_AUTHENTICATION_FAILED,
    /** The encryption context itself is invalid (too many entries, too long, bad characters). */
    INVALID_CONTEXT
  }

  private final Reason reason;

  public EnvelopeException(Reason reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
