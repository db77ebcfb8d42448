package org.openkcm.node.audit;

import java.time.Instant;

/**
 * {@link Instant#toString} (ISO-8601, UTC, fraction in groups of three digits as needed), which the
 * audit chain hashes, made without a {@code DateTimeFormatter} for every record: the date and time
 * of the last second seen are kept, and only the fraction is written anew. Same text, character for
 * character ({@code InstantTextTest}); outside the years 1970–9999 it falls back to {@link
 * Instant#toString}. Not thread-safe: one per writer.
 */
final class InstantText {

  /** 9999-12-31T23:59:59Z: later years are written with a sign. */
  private static final long LAST_PLAIN_SECOND = 253_402_300_799L;

  private long second = Long.MIN_VALUE;
  private String prefix; // "yyyy-MM-ddTHH:mm:ss" of second

  String of(Instant at) {
    long s = at.getEpochSecond();
    if (s < 0 || s > LAST_PLAIN_SECOND) {
      return at.toString();
    }
    if (s != second) {
      String whole = Instant.ofEpochSecond(s).toString(); // "yyyy-MM-ddTHH:mm:ssZ"
      prefix = whole.substring(0, whole.length() - 1);
      second = s;
    }
    int nano = at.getNano();
    if (nano == 0) {
      return prefix + 'Z';
    }
    StringBuilder b = new StringBuilder(prefix.length() + 11).append(prefix).append('.');
    if (nano % 1_000_000 == 0) {
      digits(b, nano / 1_000_000, 3);
    } else if (nano % 1_000 == 0) {
      digits(b, nano / 1_000, 6);
    } else {
      digits(b, nano, 9);
    }
    return b.append('Z').toString();
  }

  private static void digits(StringBuilder b, int value, int width) {
    String v = Integer.toString(value);
    for (int i = v.length(); i < width; i++) {
      b.append('0');
    }
    b.append(v);
  }
}
