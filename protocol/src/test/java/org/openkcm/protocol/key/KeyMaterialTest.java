package org.openkcm.protocol.key;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class KeyMaterialTest {

  @Test
  void toStringNeverShowsTheBytes() {
    byte[] raw = HexFormat.of().parseHex("00112233445566778899aabbccddeeff");
    KeyMaterial key = KeyMaterial.copyOf(raw);
    String s = key.toString();
    assertFalse(s.contains("00112233"), s);
    assertTrue(s.contains("redacted"));
  }

  @Test
  void copyOfIsIndependentOfTheCallersArray() {
    byte[] raw = {1, 2, 3, 4};
    KeyMaterial key = KeyMaterial.copyOf(raw);
    raw[0] = 9;
    assertArrayEquals(new byte[] {1, 2, 3, 4}, key.revealBytes());
  }

  @Test
  void wipedKeyIsZeroAndRefusesUse() {
    byte[] adopted = new byte[32];
    new SecureRandom().nextBytes(adopted);
    adopted[0] = 1; // never all zero by chance
    KeyMaterial key = KeyMaterial.adopt(adopted);
    assertFalse(key.bytesAreZero());
    key.wipe();
    assertTrue(key.isWiped());
    assertTrue(key.bytesAreZero());
    assertArrayEquals(new byte[32], adopted, "the very array that held the key is zero");
    assertThrows(IllegalStateException.class, key::revealBytes);
  }

  @Test
  void sameKeyAsComparesContent() {
    KeyMaterial a = KeyMaterial.copyOf(new byte[] {1, 2, 3});
    assertTrue(a.sameKeyAs(KeyMaterial.copyOf(new byte[] {1, 2, 3})));
    assertFalse(a.sameKeyAs(KeyMaterial.copyOf(new byte[] {1, 2, 4})));
  }
}
