package org.openkcm.protocol.envelope;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.openkcm.protocol.envelope.EnvelopeException.Reason;

class EnvelopeCodecTest {

  private static byte[] sample() throws Exception {
    return EnvelopeVectors.load().get(1).envelope();
  }

  @Test
  void decodeThenToBytesIsIdentity() throws Exception {
    for (EnvelopeVectors v : EnvelopeVectors.load()) {
      assertArrayEquals(v.envelope(), EnvelopeCodec.decode(v.envelope()).toBytes(), v.name());
    }
  }

  @Test
  void everyTruncationIsRejectedAsTruncated() throws Exception {
    byte[] env = sample();
    for (int len = 0; len < env.length; len++) {
      byte[] cut = Arrays.copyOf(env, len);
      EnvelopeException e =
          assertThrows(EnvelopeException.class, () -> EnvelopeCodec.decode(cut), "len " + len);
      if (len >= 3) {
        assertEquals(Reason.ENVELOPE_TRUNCATED, e.reason(), "len " + len);
      }
    }
  }

  @Test
  void trailingBytesAreMalformed() throws Exception {
    byte[] env = sample();
    byte[] longer = Arrays.copyOf(env, env.length + 1);
    EnvelopeException e = assertThrows(EnvelopeException.class, () -> EnvelopeCodec.decode(longer));
    assertEquals(Reason.ENVELOPE_MALFORMED, e.reason());
    assertTrue(e.getMessage().contains("trailing"));
  }

  @Test
  void zeroKeyLengthIsMalformed() throws Exception {
    byte[] env = EnvelopeVectors.load().get(0).envelope();
    env[3 + 1 + 4 + 1 + 8 + 4] = 0;
    assertEquals(
        Reason.ENVELOPE_MALFORMED,
        assertThrows(EnvelopeException.class, () -> EnvelopeCodec.decode(env)).reason());
  }

  @Test
  void nullAndEmptyAreTruncated() {
    assertEquals(
        Reason.ENVELOPE_TRUNCATED,
        assertThrows(EnvelopeException.class, () -> EnvelopeCodec.decode(null)).reason());
    assertEquals(
        Reason.ENVELOPE_TRUNCATED,
        assertThrows(EnvelopeException.class, () -> EnvelopeCodec.decode(new byte[0])).reason());
  }

  @Test
  void wrongMagicIsRejected() throws Exception {
    byte[] env = sample();
    env[0] = 'X';
    EnvelopeException e = assertThrows(EnvelopeException.class, () -> EnvelopeCodec.decode(env));
    assertEquals(Reason.ENVELOPE_BAD_MAGIC, e.reason());
    assertTrue(e.getMessage().contains("not an OpenKCM envelope"));
  }

  @Test
  void unknownFormatVersionIsRejected() throws Exception {
    byte[] env = sample();
    env[2] = 2;
    EnvelopeException e = assertThrows(EnvelopeException.class, () -> EnvelopeCodec.decode(env));
    assertEquals(Reason.ENVELOPE_UNSUPPORTED_VERSION, e.reason());
    assertTrue(e.getMessage().contains("version 2"));
  }

  @Test
  void invalidTenantCharactersAreMalformed() throws Exception {
    byte[] env = sample();
    env[4] = 'A'; // upper case is not a valid id
    assertEquals(
        Reason.ENVELOPE_MALFORMED,
        assertThrows(EnvelopeException.class, () -> EnvelopeCodec.decode(env)).reason());
  }

  @Test
  void zeroLengthTenantIsMalformed() throws Exception {
    byte[] env = sample();
    env[3] = 0;
    assertEquals(
        Reason.ENVELOPE_MALFORMED,
        assertThrows(EnvelopeException.class, () -> EnvelopeCodec.decode(env)).reason());
  }

  @Test
  void l3VersionZeroIsMalformed() throws Exception {
    byte[] env = EnvelopeVectors.load().get(0).envelope();
    int versionAt = 3 + 1 + 4 + 1 + 8;
    env[versionAt + 3] = 0;
    assertEquals(
        Reason.ENVELOPE_MALFORMED,
        assertThrows(EnvelopeException.class, () -> EnvelopeCodec.decode(env)).reason());
  }

  @Test
  void oversizedInputIsMalformedWithoutParsing() {
    byte[] huge = new byte[1 << 20];
    huge[0] = 'K';
    huge[1] = 'C';
    huge[2] = 1;
    EnvelopeException e = assertThrows(EnvelopeException.class, () -> EnvelopeCodec.decode(huge));
    assertEquals(Reason.ENVELOPE_MALFORMED, e.reason());
  }

  @Test
  void contextLimitsAreEnforced() {
    Map<String, String> tooMany = new HashMap<>();
    for (int i = 0; i <= EncryptionContext.MAX_ENTRIES; i++) {
      tooMany.put("k" + i, "v");
    }
    assertEquals(
        Reason.INVALID_CONTEXT,
        assertThrows(EnvelopeException.class, () -> EncryptionContext.of(tooMany)).reason());
    assertEquals(
        Reason.INVALID_CONTEXT,
        assertThrows(EnvelopeException.class, () -> EncryptionContext.of(Map.of("", "v")))
            .reason());
    assertEquals(
        Reason.INVALID_CONTEXT,
        assertThrows(
                EnvelopeException.class, () -> EncryptionContext.of(Map.of("k", "x".repeat(1025))))
            .reason());
  }

  @Test
  void contextCanonicalFormIsIndependentOfInsertionOrder() throws Exception {
    Map<String, String> a = new java.util.LinkedHashMap<>();
    a.put("b", "2");
    a.put("a", "1");
    Map<String, String> b = new java.util.LinkedHashMap<>();
    b.put("a", "1");
    b.put("b", "2");
    assertArrayEquals(
        EncryptionContext.of(a).canonicalBytes(), EncryptionContext.of(b).canonicalBytes());
  }
}
