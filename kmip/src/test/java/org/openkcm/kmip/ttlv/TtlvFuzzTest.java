package org.openkcm.kmip.ttlv;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A seeded fuzz run: a million random and mutated messages. The reader must answer each with an
 * item or a {@link TtlvException} (never another exception), read no more than a message's length,
 * and stay within the limits. The seed is printed when it fails so a failure can be replayed.
 */
class TtlvFuzzTest {

  private static final long SEED = Long.getLong("kmip.fuzz.seed", 0x0BE7C0DEL);
  private static final int RUNS = Integer.getInteger("kmip.fuzz.runs", 1_000_000);
  private static final TtlvCodec.Limits LIMITS = new TtlvCodec.Limits(1 << 16, 16, 2_000);

  @Test
  void everyInputEndsInAnItemOrAKmipError() {
    SplittableRandom random = new SplittableRandom(SEED);
    List<byte[]> seeds = seedMessages();
    int decoded = 0;
    int refused = 0;
    for (int run = 0; run < RUNS; run++) {
      byte[] input = mutate(seeds.get(random.nextInt(seeds.size())), random);
      try {
        byte[] framed = TtlvCodec.readMessage(new ByteArrayInputStream(input), LIMITS);
        if (framed != null) {
          TtlvCodec.decode(framed, LIMITS);
        }
        decoded++;
      } catch (TtlvException | IOException e) {
        refused++;
      } catch (RuntimeException | Error e) {
        fail("seed " + SEED + " run " + run + ": " + e, e);
      }
    }
    assertTrue(decoded > RUNS / 100, "the mutations keep some messages valid: " + decoded);
    assertTrue(refused > RUNS / 2, "most mutations are refused: " + refused);
  }

  private static byte[] mutate(byte[] seed, SplittableRandom random) {
    int kind = random.nextInt(6);
    byte[] b = seed.clone();
    switch (kind) {
      case 0 -> {
        byte[] noise = new byte[random.nextInt(64)];
        random.nextBytes(noise);
        return noise;
      }
      case 1 -> {
        for (int i = random.nextInt(1, 4); i > 0 && b.length > 0; i--) {
          b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
        }
        return b;
      }
      case 2 -> {
        return java.util.Arrays.copyOf(b, random.nextInt(b.length + 1));
      }
      case 3 -> {
        // a length field set to something large, small or odd
        if (b.length >= 16) {
          int at = 8 * random.nextInt(b.length / 8) + 4;
          if (at + 4 <= b.length) {
            int v = random.nextBoolean() ? random.nextInt() : random.nextInt(64);
            b[at] = (byte) (v >>> 24);
            b[at + 1] = (byte) (v >>> 16);
            b[at + 2] = (byte) (v >>> 8);
            b[at + 3] = (byte) v;
          }
        }
        return b;
      }
      case 4 -> {
        // a type byte replaced
        if (b.length >= 8) {
          b[8 * random.nextInt(b.length / 8) + 3] = (byte) random.nextInt(16);
        }
        return b;
      }
      default -> {
        return b;
      }
    }
  }

  /** Valid messages of every type and some nesting. */
  private static List<byte[]> seedMessages() {
    List<byte[]> out = new ArrayList<>();
    List<Item> leaves =
        List.of(
            new Item.Int(Tag.BATCH_COUNT, 1),
            new Item.LongInt(Tag.USAGE_LIMITS_TOTAL.code, 7L),
            new Item.BigInt(Tag.MODULUS.code, java.math.BigInteger.TEN.pow(30)),
            new Item.Enumeration(Tag.OPERATION, 10),
            new Item.Bool(Tag.SENSITIVE, true),
            new Item.Text(Tag.UNIQUE_IDENTIFIER, "k_0123"),
            new Item.Bytes(Tag.KEY_MATERIAL, new byte[32]),
            new Item.DateTime(Tag.ACTIVATION_DATE, 1_700_000_000L),
            new Item.Interval(Tag.LEASE_TIME.code, 60));
    for (int n = 1; n <= leaves.size(); n++) {
      Item inner = new Item.Struct(Tag.BATCH_ITEM, leaves.subList(0, n));
      out.add(
          TtlvCodec.encode(
              new Item.Struct(
                  Tag.REQUEST_MESSAGE,
                  List.of(new Item.Struct(Tag.REQUEST_HEADER, leaves.subList(n - 1, n)), inner))));
    }
    return out;
  }
}
