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

  /**
   * The rule, as a pattern: {@link #isValid} checks the same character by character (every envelope
   * decode checks two ids; the regex engine was a quarter of a bulk decrypt's CPU).
   */
  static final Pattern VALID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

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
    if (!isValid(value)) {
      return Optional.of(
          kind
              + " id '"
              + printable(value)
              + "' must be lower-case letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
    return Optional.empty();
  }

  /** Whether {@code value} matches {@link #VALID}. */
  public static boolean isValid(String value) {
    if (value == null || value.isEmpty() || value.length() > MAX_LENGTH) {
      return false;
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      boolean letterOrDigit = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      if (!letterOrDigit && (i == 0 || (c != '.' && c != '_' && c != '-'))) {
        return false;
      }
    }
    return true;
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
