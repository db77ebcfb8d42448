package org.openkcm.protocol.error;

/**
 * A failure with a stable {@link ErrorReason} and a message a person can act on. Never carries key
 * material. Used on both sides of every OpenKCM API.
 */
public final class OpenKcmException extends RuntimeException {

  private final ErrorReason reason;

  public OpenKcmException(ErrorReason reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  public ErrorReason reason() {
    return reason;
  }

  /** "REASON: message", the one-line form used by the CLI and logs. */
  public String oneLine() {
    return reason + ": " + getMessage();
  }
}
