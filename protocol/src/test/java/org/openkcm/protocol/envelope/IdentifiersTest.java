package org.openkcm.protocol.envelope;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** {@link Identifiers#isValid} answers exactly what its pattern answers. */
class IdentifiersTest {

  @Test
  void theCharacterCheckAgreesWithThePatternOnEveryKindOfString() {
    String alphabet = "az09._-AZ/ é\u0000\u00ff\u0130:";
    Random random = new Random(17);
    for (int n = 0; n < 200_000; n++) {
      int length = random.nextInt(70);
      StringBuilder b = new StringBuilder(length);
      for (int i = 0; i < length; i++) {
        // mostly valid characters, so that long valid ids come up too
        b.append(
            random.nextInt(4) == 0
                ? alphabet.charAt(random.nextInt(alphabet.length()))
                : (char) ('a' + random.nextInt(26)));
      }
      String id = b.toString();
      assertEquals(Identifiers.VALID.matcher(id).matches(), Identifiers.isValid(id), id);
    }
  }

  @Test
  void edges() {
    assertTrue(Identifiers.isValid("a"));
    assertTrue(Identifiers.isValid("0-a.b_c"));
    assertTrue(Identifiers.isValid("a".repeat(63)));
    assertFalse(Identifiers.isValid("a".repeat(64)));
    assertFalse(Identifiers.isValid(""));
    assertFalse(Identifiers.isValid(null));
    assertFalse(Identifiers.isValid("-a"));
    assertFalse(Identifiers.isValid(".a"));
    assertFalse(Identifiers.isValid("Acme"));
    assertTrue(Identifiers.problem("tenant", "Acme").isPresent());
    assertTrue(Identifiers.problem("tenant", "acme").isEmpty());
  }
}
