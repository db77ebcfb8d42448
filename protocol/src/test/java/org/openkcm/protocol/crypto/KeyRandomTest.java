package org.openkcm.protocol.crypto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.DrbgParameters;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Keys come from a 256-bit NIST DRBG, and two generators never repeat each other. */
class KeyRandomTest {

  @Test
  void keysComeFromA256BitHashDrbg() {
    SecureRandom r = KeyRandom.create("test");
    assertEquals("DRBG", r.getAlgorithm());
    DrbgParameters.Instantiation p =
        assertInstanceOf(DrbgParameters.Instantiation.class, r.getParameters());
    assertEquals(256, p.getStrength());
    // the mechanism as the JDK names it, e.g. "Hash_DRBG,SHA-256,256,reseed_only"
    assertTrue(r.toString().startsWith("Hash_DRBG,SHA-256,256"), r.toString());
  }

  @Test
  void twoGeneratorsWithOnePurposeDrawDifferentKeys() {
    Set<String> seen = new HashSet<>();
    for (int g = 0; g < 2; g++) {
      SecureRandom r = KeyRandom.create("same");
      byte[] batch = new byte[256 * 32];
      r.nextBytes(batch);
      for (int i = 0; i < 256; i++) {
        assertTrue(
            seen.add(Arrays.toString(Arrays.copyOfRange(batch, i * 32, i * 32 + 32))),
            "a key drawn twice");
      }
    }
  }
}
