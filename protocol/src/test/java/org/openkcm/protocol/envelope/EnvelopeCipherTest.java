package org.openkcm.protocol.envelope;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.openkcm.protocol.envelope.EnvelopeException.Reason;
import org.openkcm.protocol.key.KeyMaterial;

class EnvelopeCipherTest {

  private static final SecureRandom RANDOM = new SecureRandom();
  private static final EnvelopeHeader ACME_PAYMENTS = new EnvelopeHeader("acme", "payments", 3);

  static List<EnvelopeVectors> vectors() throws Exception {
    return EnvelopeVectors.load();
  }

  @ParameterizedTest
  @MethodSource("vectors")
  void wrapWithKnownNonceProducesTheVectorBytes(EnvelopeVectors v) throws Exception {
    EnvelopeCipher cipher = cipherFor(v);
    byte[] actual =
        cipher.wrapWithNonce(
            KeyMaterial.copyOf(v.plaintext()), EncryptionContext.of(v.context()), v.nonce());
    assertArrayEquals(v.envelope(), actual);
  }

  @ParameterizedTest
  @MethodSource("vectors")
  void vectorEnvelopeOpensToItsPlaintext(EnvelopeVectors v) throws Exception {
    Envelope envelope = EnvelopeCodec.decode(v.envelope());
    assertEquals(v.tenant(), envelope.tenantId());
    assertEquals(v.service(), envelope.serviceId());
    assertEquals(v.l3Version(), envelope.l3Version());
    KeyMaterial dek = cipherFor(v).unwrap(envelope, EncryptionContext.of(v.context()));
    assertArrayEquals(v.plaintext(), dek.revealBytes());
  }

  @ParameterizedTest
  @MethodSource("vectors")
  void everySingleFlippedBitIsRejected(EnvelopeVectors v) throws Exception {
    EncryptionContext ctx = EncryptionContext.of(v.context());
    int openedUnderAnotherHeader = 0;
    for (int i = 0; i < v.envelope().length * 8; i++) {
      byte[] tampered = v.envelope().clone();
      tampered[i / 8] ^= (byte) (1 << (i % 8));
      Envelope parsed;
      try {
        parsed = EnvelopeCodec.decode(tampered);
      } catch (EnvelopeException e) {
        assertFalse(e.getMessage().isBlank());
        continue; // refused by the parser, with a reason
      }
      // the flip left a parseable envelope: route it as a Core would (by its header) to a cipher
      // holding the
      // SAME L3; only the authenticated header (AAD) and tag can refuse it now
      EnvelopeCipher routed = new EnvelopeCipher(parsed.header(), KeyMaterial.copyOf(v.l3Key()));
      openedUnderAnotherHeader += parsed.header().equals(cipherFor(v).header()) ? 0 : 1;
      EnvelopeException e =
          assertThrows(EnvelopeException.class, () -> routed.unwrap(parsed, ctx), "bit " + i);
      assertEquals(Reason.ENVELOPE_AUTHENTICATION_FAILED, e.reason(), "bit " + i);
    }
    assertTrue(
        openedUnderAnotherHeader > 0,
        "header flips reached the cipher (not refused by the test itself)");
  }

  @Test
  void roundTripWithRandomNonce() throws Exception {
    EnvelopeCipher cipher = new EnvelopeCipher(ACME_PAYMENTS, KeyMaterial.random(32, RANDOM));
    KeyMaterial dek = KeyMaterial.random(32, RANDOM);
    EncryptionContext ctx = EncryptionContext.of(Map.of("record", "7"));
    byte[] a = cipher.wrap(dek, ctx, RANDOM);
    byte[] b = cipher.wrap(dek, ctx, RANDOM);
    assertFalse(Arrays.equals(a, b), "two wraps of the same DEK must use different nonces");
    assertTrue(dek.sameKeyAs(cipher.unwrap(EnvelopeCodec.decode(a), ctx)));
    assertTrue(dek.sameKeyAs(cipher.unwrap(EnvelopeCodec.decode(b), ctx)));
  }

  @Test
  void otherContextFailsAuthentication() throws Exception {
    EnvelopeCipher cipher = new EnvelopeCipher(ACME_PAYMENTS, KeyMaterial.random(32, RANDOM));
    byte[] env =
        cipher.wrap(
            KeyMaterial.random(32, RANDOM), EncryptionContext.of(Map.of("record", "7")), RANDOM);
    Envelope parsed = EnvelopeCodec.decode(env);
    for (Map<String, String> other :
        List.of(
            Map.<String, String>of(),
            Map.of("record", "8"),
            Map.of("record", "7", "extra", "x"),
            Map.of("Record", "7"))) {
      EnvelopeException e =
          assertThrows(
              EnvelopeException.class, () -> cipher.unwrap(parsed, EncryptionContext.of(other)));
      assertEquals(Reason.ENVELOPE_AUTHENTICATION_FAILED, e.reason(), other.toString());
    }
  }

  @Test
  void otherL3KeyFailsAuthentication() throws Exception {
    EnvelopeCipher cipher = new EnvelopeCipher(ACME_PAYMENTS, KeyMaterial.random(32, RANDOM));
    EnvelopeCipher impostor = new EnvelopeCipher(ACME_PAYMENTS, KeyMaterial.random(32, RANDOM));
    byte[] env = cipher.wrap(KeyMaterial.random(16, RANDOM), EncryptionContext.empty(), RANDOM);
    EnvelopeException e =
        assertThrows(
            EnvelopeException.class,
            () -> impostor.unwrap(EnvelopeCodec.decode(env), EncryptionContext.empty()));
    assertEquals(Reason.ENVELOPE_AUTHENTICATION_FAILED, e.reason());
  }

  @Test
  void envelopeMovedToAnotherTenantHeaderDoesNotAuthenticate() throws Exception {
    KeyMaterial l3 = KeyMaterial.random(32, RANDOM);
    EnvelopeCipher acme = new EnvelopeCipher(ACME_PAYMENTS, l3);
    byte[] env = acme.wrap(KeyMaterial.random(32, RANDOM), EncryptionContext.empty(), RANDOM);
    // rewrite the tenant id "acme" -> "acmf": same length, valid id, different header
    byte[] moved = env.clone();
    moved[7] = 'f';
    Envelope parsed = EnvelopeCodec.decode(moved);
    assertEquals("acmf", parsed.tenantId());
    // even a cipher with the very same key bytes refuses, because the header is authenticated
    EnvelopeCipher sameKeyOtherTenant = new EnvelopeCipher(parsed.header(), l3);
    EnvelopeException e =
        assertThrows(
            EnvelopeException.class,
            () -> sameKeyOtherTenant.unwrap(parsed, EncryptionContext.empty()));
    assertEquals(Reason.ENVELOPE_AUTHENTICATION_FAILED, e.reason());
  }

  @Test
  void cipherRefusesAnEnvelopeRoutedToTheWrongKey() throws Exception {
    EnvelopeCipher cipher = new EnvelopeCipher(ACME_PAYMENTS, KeyMaterial.random(32, RANDOM));
    EnvelopeCipher other =
        new EnvelopeCipher(new EnvelopeHeader("acme", "audit", 3), KeyMaterial.random(32, RANDOM));
    byte[] env = other.wrap(KeyMaterial.random(32, RANDOM), EncryptionContext.empty(), RANDOM);
    assertThrows(
        IllegalArgumentException.class,
        () -> cipher.unwrap(EnvelopeCodec.decode(env), EncryptionContext.empty()));
  }

  @Test
  void destroyedCipherNoLongerHoldsTheKeyBytesAndRefusesUse() throws Exception {
    KeyMaterial l3 = KeyMaterial.random(32, RANDOM);
    EnvelopeCipher cipher = new EnvelopeCipher(ACME_PAYMENTS, l3);
    byte[] env = cipher.wrap(KeyMaterial.random(32, RANDOM), EncryptionContext.empty(), RANDOM);
    assertFalse(cipher.keyBytesAreZero());
    cipher.destroy();
    assertTrue(cipher.keyBytesAreZero(), "the L3 bytes the cipher owned are zero");
    assertThrows(
        IllegalStateException.class,
        () -> cipher.wrap(KeyMaterial.random(32, RANDOM), EncryptionContext.empty(), RANDOM));
    assertThrows(
        IllegalStateException.class,
        () -> cipher.unwrap(EnvelopeCodec.decode(env), EncryptionContext.empty()));
    assertNotEquals("", cipher.toString());
    assertFalse(cipher.toString().contains("KeyMaterial"));
  }

  @Test
  void oversizedDekIsRejected() throws Exception {
    EnvelopeCipher cipher = new EnvelopeCipher(ACME_PAYMENTS, KeyMaterial.random(32, RANDOM));
    EnvelopeException e =
        assertThrows(
            EnvelopeException.class,
            () -> cipher.wrap(KeyMaterial.random(65, RANDOM), EncryptionContext.empty(), RANDOM));
    assertEquals(Reason.ENVELOPE_MALFORMED, e.reason());
  }

  private static EnvelopeCipher cipherFor(EnvelopeVectors v) {
    return new EnvelopeCipher(
        new EnvelopeHeader(v.tenant(), v.service(), v.l3Version()), KeyMaterial.copyOf(v.l3Key()));
  }

  @Test
  void aNonceBatchGivesEveryWrapItsOwnNonceAndNoMore() throws Exception {
    EnvelopeCipher cipher = new EnvelopeCipher(ACME_PAYMENTS, KeyMaterial.random(32, RANDOM));
    EncryptionContext context = EncryptionContext.of(Map.of("table", "orders"));
    NonceBatch nonces = new NonceBatch(RANDOM, 64);
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (int i = 0; i < 64; i++) {
      KeyMaterial dek = KeyMaterial.random(32, RANDOM);
      byte[] envelope = cipher.wrap(dek, context, nonces);
      Envelope parsed = EnvelopeCodec.decode(envelope);
      assertTrue(seen.add(Arrays.toString(parsed.nonce())), "nonce " + i + " used twice");
      assertArrayEquals(dek.revealBytes(), cipher.unwrap(parsed, context).revealBytes());
    }
    assertThrows(
        IllegalStateException.class,
        () -> cipher.wrap(KeyMaterial.random(32, RANDOM), context, nonces));
  }

  @Test
  void aContextMemoParsesOnceWhileItemsRepeatTheirContext() throws Exception {
    EncryptionContext.Memo memo = new EncryptionContext.Memo();
    EncryptionContext a = memo.of(Map.of("table", "orders"));
    assertTrue(a == memo.of(Map.of("table", "orders")), "an equal context is not parsed again");
    EncryptionContext b = memo.of(Map.of("table", "users"));
    assertArrayEquals(
        EncryptionContext.of(Map.of("table", "users")).canonicalBytes(), b.canonicalBytes());
    assertFalse(Arrays.equals(a.canonicalBytes(), b.canonicalBytes()));
  }
}
