package org.openkcm.kmip.message;

import java.util.Optional;

/** KMIP key format types (this server answers Raw and Transparent Symmetric Key). */
public enum KeyFormatType {
  RAW(0x00000001),
  OPAQUE(0x00000002),
  PKCS_1(0x00000003),
  PKCS_8(0x00000004),
  X_509(0x00000005),
  EC_PRIVATE_KEY(0x00000006),
  TRANSPARENT_SYMMETRIC_KEY(0x00000007),
  TRANSPARENT_DSA_PRIVATE_KEY(0x00000008),
  TRANSPARENT_DSA_PUBLIC_KEY(0x00000009),
  TRANSPARENT_RSA_PRIVATE_KEY(0x0000000A),
  TRANSPARENT_RSA_PUBLIC_KEY(0x0000000B),
  TRANSPARENT_DH_PRIVATE_KEY(0x0000000C),
  TRANSPARENT_DH_PUBLIC_KEY(0x0000000D),
  TRANSPARENT_ECDSA_PRIVATE_KEY(0x0000000E),
  TRANSPARENT_ECDSA_PUBLIC_KEY(0x0000000F),
  TRANSPARENT_ECDH_PRIVATE_KEY(0x00000010),
  TRANSPARENT_ECDH_PUBLIC_KEY(0x00000011),
  TRANSPARENT_ECMQV_PRIVATE_KEY(0x00000012),
  TRANSPARENT_ECMQV_PUBLIC_KEY(0x00000013),
  TRANSPARENT_EC_PRIVATE_KEY(0x00000014),
  TRANSPARENT_EC_PUBLIC_KEY(0x00000015),
  PKCS_12(0x00000016);

  public final int code;

  KeyFormatType(int code) {
    this.code = code;
  }

  public static Optional<KeyFormatType> of(int code) {
    for (KeyFormatType v : values()) {
      if (v.code == code) {
        return Optional.of(v);
      }
    }
    return Optional.empty();
  }
}
