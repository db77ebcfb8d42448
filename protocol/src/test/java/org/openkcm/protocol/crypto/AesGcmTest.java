package org.openkcm.protocol.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.util.HexFormat;
import javax.crypto.AEADBadTagException;
import org.junit.jupiter.api.Test;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * The one AES-256-GCM primitive: known answers, authentication, and a key that is really gone after
 * destroy.
 */
class AesGcmTest {

  private static final HexFormat HEX = HexFormat.of();
  private static final SecureRandom RANDOM = new SecureRandom();

  /** McGrew/Viega GCM specification, test cases 13 and 14 (AES-256, zero key, zero IV). */
  @Test
  void knownAnswersOfTheGcmSpecification() throws Exception {
    AesGcm aes = AesGcm.of(KeyMaterial.copyOf(new byte[32]));
    byte[] nonce = new byte[12];
    assertEquals("530f8afbc74536b9a963b4f1c4cb738b", HEX.formatHex(aes.seal(nonce, new byte[0])));
    // (sealing again under the same key and nonce is refused by the JCA: test case 14 is checked by
    // opening)
    byte[] sealed =
        HEX.parseHex("cea7403d4d606b6e074ec5d3baf39d18" + "d0d1c8a799996bf0265b98b5d48ab919");
    assertArrayEquals(new byte[16], aes.open(nonce, 0, sealed, 0, sealed.length));
    assertThrows(
        IllegalStateException.class, () -> aes.seal(nonce, new byte[0]), "nonce reuse is refused");
  }

  @Test
  void anyChangeToCiphertextTagOrAadFailsAuthentication() throws Exception {
    AesGcm aes = AesGcm.of(KeyMaterial.random(32, RANDOM));
    byte[] nonce = new byte[12];
    RANDOM.nextBytes(nonce);
    byte[] sealed =
        aes.seal(nonce, "data key".getBytes(), "header".getBytes(), "context".getBytes());
    for (int i = 0; i < sealed.length * 8; i++) {
      byte[] t = sealed.clone();
      t[i / 8] ^= (byte) (1 << (i % 8));
      assertThrows(
          AEADBadTagException.class,
          () -> aes.open(nonce, 0, t, 0, t.length, "header".getBytes(), "context".getBytes()),
          "bit " + i);
    }
    assertThrows(
        AEADBadTagException.class,
        () ->
            aes.open(
                nonce, 0, sealed, 0, sealed.length, "header".getBytes(), "contexT".getBytes()));
  }

  @Test
  void destroyZeroisesTheOwnedKeyAndEveryLaterUseFails() throws Exception {
    KeyMaterial key = KeyMaterial.random(32, RANDOM);
    AesGcm aes = AesGcm.of(key);
    byte[] nonce = new byte[12];
    byte[] sealed = aes.seal(nonce, new byte[32]);
    key.wipe();
    assertTrue(key.bytesAreZero(), "the caller's copy is zero after its wipe");
    assertFalse(aes.keyBytesAreZero(), "the primitive owns its own copy");
    assertArrayEquals(
        new byte[32], aes.open(nonce, 0, sealed, 0, sealed.length), "still usable before destroy");

    aes.destroy();
    assertTrue(aes.isDestroyed());
    assertTrue(aes.keyBytesAreZero(), "the owned key bytes are zero");
    assertThrows(IllegalStateException.class, () -> aes.seal(nonce, new byte[32]));
    assertThrows(IllegalStateException.class, () -> aes.open(nonce, 0, sealed, 0, sealed.length));
    assertFalse(aes.toString().matches(".*[0-9a-f]{16}.*"));
  }
}
