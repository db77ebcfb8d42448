package org.openkcm.node.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Instant;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The chain hashes the instant's text: the fast form must be Instant.toString's exactly. */
class InstantTextTest {

  @Test
  void writesWhatInstantToStringWritesForEveryKindOfFraction() {
    InstantText text = new InstantText();
    SplittableRandom random = new SplittableRandom(17);
    long now = Instant.parse("2026-12-02T10:32:42Z").getEpochSecond();
    for (int i = 0; i < 200_000; i++) {
      long second =
          i % 3 == 0 ? now + i / 50 : random.nextLong(-100_000_000_000L, 300_000_000_000L);
      int nano =
          switch (i % 5) {
            case 0 -> 0;
            case 1 -> random.nextInt(1000) * 1_000_000;
            case 2 -> random.nextInt(1_000_000) * 1_000;
            case 3 -> random.nextInt(1_000_000_000);
            default -> random.nextInt(10) * 100; // leading zeros in every group
          };
      Instant at = Instant.ofEpochSecond(second, nano);
      assertEquals(at.toString(), text.of(at), "second " + second + ", nano " + nano);
    }
  }

  @Test
  void theEdgesOfThePlainYearsToo() {
    InstantText text = new InstantText();
    for (String s :
        new String[] {
          "1970-01-01T00:00:00Z",
          "1969-12-31T23:59:59.999999Z",
          "9999-12-31T23:59:59.999999999Z",
          "+10000-01-01T00:00:00Z",
          "2026-12-02T10:32:42.000001Z",
          "2026-12-02T10:32:42.010Z"
        }) {
      Instant at = Instant.parse(s);
      assertEquals(at.toString(), text.of(at), s);
      assertEquals(at.toString(), text.of(at), s + " (cached)");
    }
  }
}
