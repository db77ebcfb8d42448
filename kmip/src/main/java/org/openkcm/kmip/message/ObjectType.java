package org.openkcm.kmip.message;

import java.util.Optional;

/** KMIP object types. */
public enum ObjectType {
  CERTIFICATE(0x00000001),
  SYMMETRIC_KEY(0x00000002),
  PUBLIC_KEY(0x00000003),
  PRIVATE_KEY(0x00000004),
  SPLIT_KEY(0x00000005),
  TEMPLATE(0x00000006),
  SECRET_DATA(0x00000007),
  OPAQUE_DATA(0x00000008),
  PGP_KEY(0x00000009),
  CERTIFICATE_REQUEST(0x0000000A);

  public final int code;

  ObjectType(int code) {
    this.code = code;
  }

  public static Optional<ObjectType> of(int code) {
    for (ObjectType v : values()) {
      if (v.code == code) {
        return Optional.of(v);
      }
    }
    return Optional.empty();
  }
}
