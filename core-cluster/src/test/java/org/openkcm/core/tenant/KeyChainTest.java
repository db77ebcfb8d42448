package org.openkcm.core.tenant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.openkcm.core.seal.MasterKey;
import org.openkcm.protocol.envelope.EncryptionContext;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * Known answers for what the journal holds: the strings bound into each wrap and a sealed L3 of a
 * fixed chain.
 */
class KeyChainTest {

  private static KeyMaterial filled(int b) {
    byte[] k = new byte[32];
    Arrays.fill(k, (byte) b);
    return KeyMaterial.adopt(k);
  }

  /**
   * master 0x11…, L2 0x22…, L3 0x33…; tenant acme, service payments, L3 v1 under L2 v1 (written
   * 2026-12-01).
   */
  private static final String SEALED_L3 =
      "4d4b01f5a9be88b07451b68eb7ff141e2953b6084e4742d4f18c0deec07b6ee255f4d4d7c96ddf43"
          + "079c8f1956101f55ad42dbeaad773e2f2d445b86f0b597b517342f19ca42d5daf11b9d3b279729a825d46a01c74565426372434d";

  @Test
  void theBoundStringsAreStable() {
    assertEquals(
        "openkcm-l3-v1\nacme\npayments\n3\n2",
        new String(KeyChain.l3Aad("acme", "payments", 3, 2), StandardCharsets.UTF_8));
    assertEquals("l2:acme", KeyChain.l2Purpose("acme"));
    assertEquals("l3:acme:payments:3", KeyChain.l3Purpose("acme", "payments", 3));
    KeyChain chain = new KeyChain("acme", MasterKey.unsealedWith(filled(0x11)), new SecureRandom());
    assertEquals(
        Map.of(
            "openkcm:tenant", "acme", "openkcm:l2-version", "2", "openkcm:correlation-id", "c-9"),
        chain.l1Context(2, "c-9"));
  }

  @Test
  void aSealedL3WrittenByAnEarlierBuildStillOpensAndServes() throws Exception {
    KeyChain chain = new KeyChain("acme", MasterKey.unsealedWith(filled(0x11)), new SecureRandom());
    TenantState.ServiceKeys payments =
        new TenantState.ServiceKeys(
            "payments",
            1,
            List.of(new TenantState.WrappedL3(1, 1, HexFormat.of().parseHex(SEALED_L3))),
            List.of(),
            0,
            false);
    UnsealedKeys keys = chain.open(filled(0x22), 1, Map.of("payments", payments));
    var cipher = keys.cipher("payments", 1).orElseThrow();
    KeyMaterial dek = filled(0x44);
    byte[] envelope = cipher.wrap(dek, EncryptionContext.empty(), new SecureRandom());
    // the opened L3 is the vector's 0x33… key: an independent cipher on it opens the envelope too
    var independent =
        new org.openkcm.protocol.envelope.EnvelopeCipher(cipher.header(), filled(0x33));
    assertTrue(
        dek.sameKeyAs(
            independent.unwrap(EnvelopeCodec.decode(envelope), EncryptionContext.empty())));
  }

  @Test
  void aChainDoesNotOpenUnderAnotherTenantOrWithAnotherL2AndWipesWhatItOpened() {
    KeyChain other =
        new KeyChain("globex", MasterKey.unsealedWith(filled(0x11)), new SecureRandom());
    TenantState.ServiceKeys payments =
        new TenantState.ServiceKeys(
            "payments",
            1,
            List.of(new TenantState.WrappedL3(1, 1, HexFormat.of().parseHex(SEALED_L3))),
            List.of(),
            0,
            false);
    assertEquals(
        ErrorReason.INTERNAL,
        assertThrows(
                OpenKcmException.class,
                () -> other.open(filled(0x22), 1, Map.of("payments", payments)))
            .reason(),
        "sealed for acme, not globex");
    KeyChain acme = new KeyChain("acme", MasterKey.unsealedWith(filled(0x11)), new SecureRandom());
    KeyMaterial wrongL2 = filled(0x23);
    assertEquals(
        ErrorReason.INTERNAL,
        assertThrows(
                OpenKcmException.class, () -> acme.open(wrongL2, 1, Map.of("payments", payments)))
            .reason());
    assertTrue(wrongL2.bytesAreZero(), "the L2 handed to a failed open is wiped");
  }

  @Test
  void aNewL3RoundTrips() {
    KeyChain chain = new KeyChain("acme", MasterKey.unsealedWith(filled(0x11)), new SecureRandom());
    byte[] blob = chain.sealL3(filled(0x22), 1, "billing", 4, filled(0x55));
    assertArrayEquals(new byte[] {'M', 'K', 1}, Arrays.copyOf(blob, 3));
    UnsealedKeys keys =
        chain.open(
            filled(0x22),
            1,
            Map.of(
                "billing",
                new TenantState.ServiceKeys(
                    "billing",
                    4,
                    List.of(new TenantState.WrappedL3(4, 1, blob)),
                    List.of(),
                    0,
                    false)));
    assertTrue(keys.cipher("billing", 4).isPresent());
  }
}
