package org.openkcm.kmip.message;

import java.util.Optional;

/** KMIP object states; the server enforces which operations each allows. */
public enum ObjectState {
  PRE_ACTIVE(0x00000001),
  ACTIVE(0x00000002),
  DEACTIVATED(0x00000003),
  COMPROMISED(0x00000004),
  DESTROYED(0x00000005),
  DESTROYED_COMPROMISED(0x00000006);

  public final int code;

  ObjectState(int code) {
    this.code = code;
  }

  public static Optional<ObjectState> of(int code) {
    for (ObjectState v : values()) {
      if (v.code == code) {
        return Optional.of(v);
      }
    }
    return Optional.empty();
  }
}
