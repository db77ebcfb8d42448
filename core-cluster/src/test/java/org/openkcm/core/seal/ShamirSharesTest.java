package org.openkcm.core.seal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.key.KeyMaterial;

class ShamirSharesTest {

  private static final SecureRandom RANDOM = new SecureRandom();

  @Test
  void anyThresholdSharesRebuildTheKeyAndFewerDoNot() {
    KeyMaterial master = KeyMaterial.random(32, RANDOM);
    byte[] check = MasterKey.unsealedWith(KeyMaterial.copyOf(master.revealBytes())).checkBlob();
    List<String> shares = ShamirShares.split(master, 5, 3, RANDOM);
    assertEquals(5, shares.size());
    for (int[] pick : new int[][] {{0, 1, 2}, {0, 2, 4}, {1, 3, 4}, {4, 3, 2}}) {
      KeyMaterial joined =
          ShamirShares.join(
              List.of(
                  ShamirShares.parse(shares.get(pick[0])),
                  ShamirShares.parse(shares.get(pick[1])),
                  ShamirShares.parse(shares.get(pick[2]))));
      assertTrue(master.sameKeyAs(joined));
      assertTrue(MasterKey.verifies(joined, check));
    }
    KeyMaterial fromTwo =
        ShamirShares.join(
            List.of(ShamirShares.parse(shares.get(0)), ShamirShares.parse(shares.get(1))));
    assertFalse(
        MasterKey.verifies(fromTwo, check), "fewer than the threshold reveal nothing usable");
  }

  @Test
  void aShareFromAnotherSplitIsCaughtByVerification() {
    KeyMaterial master = KeyMaterial.random(32, RANDOM);
    byte[] check = MasterKey.unsealedWith(KeyMaterial.copyOf(master.revealBytes())).checkBlob();
    List<String> ours = ShamirShares.split(master, 3, 2, RANDOM);
    List<String> theirs = ShamirShares.split(KeyMaterial.random(32, RANDOM), 3, 2, RANDOM);
    KeyMaterial mixed =
        ShamirShares.join(
            List.of(ShamirShares.parse(ours.get(0)), ShamirShares.parse(theirs.get(1))));
    assertFalse(MasterKey.verifies(mixed, check));
  }

  @Test
  void aMistypedShareIsRejectedOnEntry() {
    String share = ShamirShares.split(KeyMaterial.random(32, RANDOM), 3, 2, RANDOM).get(0);
    char[] c = share.toCharArray();
    int pos = share.lastIndexOf('-') - 3;
    c[pos] = c[pos] == 'A' ? 'B' : 'A';
    OpenKcmException e =
        assertThrows(OpenKcmException.class, () -> ShamirShares.parse(new String(c)));
    assertEquals(ErrorReason.INVALID_ARGUMENT, e.reason());
    assertTrue(e.getMessage().contains("checksum"));
    assertEquals(
        ErrorReason.INVALID_ARGUMENT,
        assertThrows(OpenKcmException.class, () -> ShamirShares.parse("hello")).reason());
  }

  @Test
  void sharesDoNotPrintTheirBytes() {
    ShamirShares.Share s =
        ShamirShares.parse(ShamirShares.split(KeyMaterial.random(32, RANDOM), 3, 2, RANDOM).get(0));
    assertTrue(s.toString().contains("redacted"));
  }

  @Test
  void badThresholdsAreRefused() {
    assertThrows(
        OpenKcmException.class,
        () -> ShamirShares.split(KeyMaterial.random(32, RANDOM), 3, 4, RANDOM));
    assertThrows(
        OpenKcmException.class,
        () -> ShamirShares.split(KeyMaterial.random(32, RANDOM), 3, 1, RANDOM));
  }

  @Test
  void sealedMasterKeyRefusesWithCoreSealed() {
    MasterKey m = new MasterKey();
    assertEquals(
        ErrorReason.CORE_SEALED,
        assertThrows(OpenKcmException.class, () -> m.seal(new byte[] {1}, "x")).reason());
    m.install(KeyMaterial.random(32, RANDOM));
    byte[] blob = m.seal(new byte[] {1, 2, 3}, "purpose-a");
    assertEquals(3, m.open(blob, "purpose-a").length);
    assertThrows(OpenKcmException.class, () -> m.open(blob, "purpose-b"));
    m.wipe();
    assertEquals(
        ErrorReason.CORE_SEALED,
        assertThrows(OpenKcmException.class, () -> m.open(blob, "purpose-a")).reason());
  }

  /** A share with a valid checksum around {@code part}, as a tampering tool would write it. */
  private static String forged(int k, int index, byte[] part) throws Exception {
    java.security.MessageDigest d = java.security.MessageDigest.getInstance("SHA-256");
    d.update((k + ":" + index + ":").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    d.update(part);
    return "okcm-share-v1-"
        + k
        + "-"
        + index
        + "-"
        + java.util.Base64.getUrlEncoder().withoutPadding().encodeToString(part)
        + "-"
        + java.util.HexFormat.of().formatHex(d.digest(), 0, 4);
  }

  @org.junit.jupiter.api.Test
  void sharesWithAnIndexOrLengthOutOfRangeAreRefusedEvenWithAValidChecksum() throws Exception {
    for (String bad :
        java.util.List.of(
            forged(3, 0, new byte[32]),
            forged(3, 256, new byte[32]),
            forged(1, 2, new byte[32]),
            forged(3, 2, new byte[16]),
            forged(3, 2, new byte[33]))) {
      org.openkcm.protocol.error.OpenKcmException e =
          org.junit.jupiter.api.Assertions.assertThrows(
              org.openkcm.protocol.error.OpenKcmException.class,
              () -> ShamirShares.parse(bad),
              bad);
      org.junit.jupiter.api.Assertions.assertEquals(
          org.openkcm.protocol.error.ErrorReason.INVALID_ARGUMENT, e.reason());
    }
    org.junit.jupiter.api.Assertions.assertEquals(
        2, ShamirShares.parse(forged(3, 2, new byte[32])).index());
  }
}
