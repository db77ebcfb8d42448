package org.openkcm.cli;

import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/** A {@code HOST:PORT} given on the command line or read from endpoints.json. */
public record HostPort(String host, int port) {

  public static HostPort parse(String text) {
    int colon = text == null ? -1 : text.lastIndexOf(':');
    if (colon <= 0) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, "expected HOST:PORT, got '" + text + "'");
    }
    try {
      int port = Integer.parseInt(text.substring(colon + 1));
      if (port < 1 || port > 65535) {
        throw new NumberFormatException();
      }
      return new HostPort(text.substring(0, colon), port);
    } catch (NumberFormatException e) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, "port of '" + text + "' must be 1..65535");
    }
  }

  @Override
  public String toString() {
    return host + ":" + port;
  }
}
