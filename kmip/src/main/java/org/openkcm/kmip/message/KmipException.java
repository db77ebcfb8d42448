package org.openkcm.kmip.message;

/**
 * A batch item that fails: its KMIP result reason and a message for the client (never key
 * material). The server answers it as an Operation Failed item; other items of the batch go on.
 */
public final class KmipException extends RuntimeException {

  private final ResultReason reason;

  public KmipException(ResultReason reason, String message) {
    super(message, null, false, false);
    this.reason = reason;
  }

  public ResultReason reason() {
    return reason;
  }
}
