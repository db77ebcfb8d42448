package org.openkcm.kmip.message;

import java.util.Optional;

/** KMIP block cipher modes (this server encrypts with GCM). */
public enum BlockCipherMode {
  CBC(0x00000001),
  ECB(0x00000002),
  PCBC(0x00000003),
  CFB(0x00000004),
  OFB(0x00000005),
  CTR(0x00000006),
  CMAC(0x00000007),
  CCM(0x00000008),
  GCM(0x00000009),
  CBC_MAC(0x0000000A),
  XTS(0x0000000B),
  AES_KEY_WRAP_PADDING(0x0000000C),
  NIST_KEY_WRAP(0x0000000D),
  X9_102_AESKW(0x0000000E),
  X9_102_TDKW(0x0000000F),
  X9_102_AKW1(0x00000010),
  X9_102_AKW2(0x00000011),
  AEAD(0x00000012);

  public final int code;

  BlockCipherMode(int code) {
    this.code = code;
  }

  public static Optional<BlockCipherMode> of(int code) {
    for (BlockCipherMode v : values()) {
      if (v.code == code) {
        return Optional.of(v);
      }
    }
    return Optional.empty();
  }
}
