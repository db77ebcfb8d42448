package org.openkcm.kmip.message;

import java.util.Optional;

/** Why an object is revoked. */
public enum RevocationReasonCode {
  UNSPECIFIED(0x00000001),
  KEY_COMPROMISE(0x00000002),
  CA_COMPROMISE(0x00000003),
  AFFILIATION_CHANGED(0x00000004),
  SUPERSEDED(0x00000005),
  CESSATION_OF_OPERATION(0x00000006),
  PRIVILEGE_WITHDRAWN(0x00000007);

  public final int code;

  RevocationReasonCode(int code) {
    this.code = code;
  }

  public static Optional<RevocationReasonCode> of(int code) {
    for (RevocationReasonCode v : values()) {
      if (v.code == code) {
        return Optional.of(v);
      }
    }
    return Optional.empty();
  }
}
