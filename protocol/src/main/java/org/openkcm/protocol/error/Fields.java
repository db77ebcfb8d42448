package org.openkcm.protocol.error;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/**
 * Checks of request fields that are not keys or identifiers: correlation ids, free text that
 * reaches logs and journals (reasons, names), counts. A failure is {@code INVALID_ARGUMENT} naming
 * the field. Free text may not hold control characters, so nothing a client sends can forge a log
 * line.
 */
public final class Fields {

  public static final int MAX_CORRELATION_ID = 128;
  private static final Pattern CORRELATION_ID =
      Pattern.compile("[A-Za-z0-9._:@/+=-]{0," + MAX_CORRELATION_ID + "}");

  private Fields() {}

  /** An optional correlation id: at most 128 of {@code A-Z a-z 0-9 . _ : @ / + = -}. */
  public static void correlationId(String field, String value) {
    if (!CORRELATION_ID.matcher(value).matches()) {
      throw invalid(
          field
              + " must be at most "
              + MAX_CORRELATION_ID
              + " characters of A-Z a-z 0-9 . _ : @ / + = - (was "
              + value.length()
              + " characters: '"
              + safe(value)
              + "')");
    }
  }

  /**
   * A correlation id for a call that came without one: a random (version 4) UUID. It needs to be
   * unique, not unpredictable, so it is drawn from {@link ThreadLocalRandom} rather than the
   * SecureRandom behind {@link UUID#randomUUID()} (which every call on a hot path would contend
   * on).
   */
  public static String newCorrelationId() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    long high = (random.nextLong() & ~0xF000L) | 0x4000L; // version 4
    long low = (random.nextLong() & ~(0xC0L << 56)) | (0x80L << 56); // IETF variant
    return new UUID(high, low).toString();
  }

  /** Free text of at most {@code max} characters without control characters ("" allowed). */
  public static void text(String field, String value, int max) {
    if (value.length() > max) {
      throw invalid(field + " is " + value.length() + " characters long; at most " + max);
    }
    if (value.codePoints().anyMatch(Character::isISOControl)) {
      throw invalid(field + " must not contain control characters (line breaks, tabs, ...)");
    }
  }

  /** Free text as {@link #text} that must not be empty. */
  public static void requiredText(String field, String value, int max) {
    if (value.isBlank()) {
      throw invalid(field + " is empty");
    }
    text(field, value, max);
  }

  /**
   * A count of list items between 1 and {@code max} (the setting that sets {@code max} is named).
   */
  public static void count(String field, int count, int max, String setting) {
    if (count < 1 || count > max) {
      throw invalid(field + " must hold 1.." + max + " items (" + setting + "), held " + count);
    }
  }

  /** {@code value} for a log line: control characters escaped, cut at 200 characters. */
  public static String safe(String value) {
    StringBuilder b = new StringBuilder();
    value
        .codePoints()
        .limit(200)
        .forEach(
            cp -> {
              if (Character.isISOControl(cp)) {
                b.append(String.format("\\u%04x", cp));
              } else {
                b.appendCodePoint(cp);
              }
            });
    return value.length() > 200 ? b + "..." : b.toString();
  }

  private static OpenKcmException invalid(String message) {
    return new OpenKcmException(ErrorReason.INVALID_ARGUMENT, message);
  }
}
