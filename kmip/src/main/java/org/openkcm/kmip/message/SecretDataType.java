package org.openkcm.kmip.message;

import java.util.Optional;

/** Kinds of Secret Data. */
public enum SecretDataType {
  PASSWORD(0x00000001),
  SEED(0x00000002);

  public final int code;

  SecretDataType(int code) {
    this.code = code;
  }

  public static Optional<SecretDataType> of(int code) {
    for (SecretDataType v : values()) {
      if (v.code == code) {
        return Optional.of(v);
      }
    }
    return Optional.empty();
  }
}
