package org.openkcm.protocol.envelope;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The one rule for tenant and service identifiers, shared by the envelope, the Core and the
 * gateway.
 */
public final class Identifiers {

  /** Maximum length of a tenant or service identifier, in characters (ASCII, so also bytes). */
  public static final int MAX_LENGTH = 63;

  private static final Pattern VALID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

  private Identifiers() {}

  /**
   * Explains why {@code value} is not a valid identifier of the given kind ("tenant", "service"),
   * or answers empty when it is valid.
   */
  public static Optional<String> problem(String kind, String value) {
    if (value == null || value.isEmpty()) {
      return Optional.of(kind + " id is empty");
    }
    if (value.length() > MAX_LENGTH) {
      return Optional.of(
          kind + " id is " + value.length() + " characters long; at most " + MAX_LENGTH);
    }
    if (!VALID.matcher(value).matches()) {
      return Optional.of(
          kind
              + " id '"
              + printable(value)
              + "' must be lower-case letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
    return Optional.empty();
  }

  public static boolean isValid(String value) {
    return value != null && VALID.matcher(value).matches();
  }

  private static String printable(String value) {
    StringBuilder b = new StringBuilder();
    value
        .codePoints()
        .limit(MAX_LENGTH)
        .forEach(
            cp -> {
              if (cp >= 0x20 && cp < 0x7f) {
                b.appendCodePoint(cp);
              } else {
                b.append(String.format("\\u%04x", cp));
              }
            });
    return b.toString();
  }
}
