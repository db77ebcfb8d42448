package org.openkcm.protocol.envelope;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * Seeded fuzzing of the envelope parser and cipher: a million random and mutated inputs must each
 * end in a valid envelope or a named {@link EnvelopeException} with a message — never another
 * exception, never a hang. The seed is printed so that a failure can be replayed (set
 * OPENKCM_FUZZ_SEED).
 */
class EnvelopeFuzzTest {

  private static final int ROUNDS = 1_000_000;

  @Test
  void randomAndMutatedEnvelopesNeverCrashTheParserOrTheCipher() throws Exception {
    long seed =
        Long.parseLong(
            System.getenv()
                .getOrDefault("OPENKCM_FUZZ_SEED", Long.toString(new SecureRandom().nextLong())));
    System.out.println("EnvelopeFuzzTest seed " + seed);
    Random rnd = new Random(seed);
    EnvelopeCipher cipher =
        new EnvelopeCipher(
            new EnvelopeHeader("acme", "payments", 3), KeyMaterial.random(32, new SecureRandom()));
    EncryptionContext ctx = EncryptionContext.of(Map.of("row", "1"));
    List<byte[]> seeds =
        List.of(
            cipher.wrap(KeyMaterial.random(32, new SecureRandom()), ctx, new SecureRandom()),
            cipher.wrap(
                KeyMaterial.random(16, new SecureRandom()),
                EncryptionContext.empty(),
                new SecureRandom()));
    List<EncryptionContext> seedContexts = List.of(ctx, EncryptionContext.empty());
    int valid = 0;
    int opened = 0;
    long deadline = System.nanoTime() + 120_000_000_000L;
    for (int i = 0; i < ROUNDS; i++) {
      byte[] input = next(rnd, seeds);
      try {
        Envelope e = EnvelopeCodec.decode(input);
        valid++;
        assertNotNull(e.header());
        if (e.header().equals(cipher.header())) {
          EncryptionContext tried = rnd.nextBoolean() ? ctx : EncryptionContext.empty();
          cipher.unwrap(e, tried);
          opened++;
          // an open is legitimate only for an unmodified envelope under the context it was made
          // with
          boolean genuine = false;
          for (int s = 0; s < seeds.size(); s++) {
            genuine |=
                java.util.Arrays.equals(seeds.get(s), input) && seedContexts.get(s).equals(tried);
          }
          assertTrue(
              genuine,
              "round " + i + " (seed " + seed + "): a modified envelope or a wrong context OPENED");
        }
      } catch (EnvelopeException e) {
        assertNotNull(e.reason());
        assertFalse(e.getMessage() == null || e.getMessage().isBlank(), "every rejection says why");
      } catch (RuntimeException e) {
        throw new AssertionError("round " + i + " (seed " + seed + "): unexpected " + e, e);
      }
      if ((i & 0xFFFF) == 0) {
        assertTrue(System.nanoTime() < deadline, "fuzzing is too slow: a hang?");
      }
    }
    System.out.println(
        "EnvelopeFuzzTest: "
            + ROUNDS
            + " inputs, "
            + valid
            + " structurally valid, "
            + opened
            + " opened (only unmodified copies can)");
  }

  /**
   * Half mutations of real envelopes (flips, truncations, extensions, splices), half random bytes.
   */
  private static byte[] next(Random rnd, List<byte[]> seeds) {
    if (rnd.nextInt(4) == 0) {
      byte[] b = new byte[rnd.nextInt(300)];
      rnd.nextBytes(b);
      if (b.length > 3 && rnd.nextBoolean()) {
        b[0] = 'K';
        b[1] = 'C';
        b[2] = 1;
      }
      return b;
    }
    byte[] base = seeds.get(rnd.nextInt(seeds.size())).clone();
    switch (rnd.nextInt(5)) {
      case 0 -> base[rnd.nextInt(base.length)] ^= (byte) (1 << rnd.nextInt(8));
      case 1 -> base = java.util.Arrays.copyOf(base, rnd.nextInt(base.length));
      case 2 -> {
        base = java.util.Arrays.copyOf(base, base.length + 1 + rnd.nextInt(64));
      }
      case 3 -> base[3 + rnd.nextInt(Math.min(20, base.length - 3))] = (byte) rnd.nextInt(256);
      default -> {
        for (int k = rnd.nextInt(4); k >= 0; k--) {
          base[rnd.nextInt(base.length)] = (byte) rnd.nextInt(256);
        }
      }
    }
    return base;
  }
}
