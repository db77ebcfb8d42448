package org.openkcm.kmip.ttlv;

/**
 * A message that is not well-formed TTLV, or breaks one of our limits. The server answers it with
 * result reason Invalid Message (or closes the connection when it cannot even frame a reply).
 */
public final class TtlvException extends RuntimeException {
  public TtlvException(String message) {
    super(message, null, false, false);
  }
}
