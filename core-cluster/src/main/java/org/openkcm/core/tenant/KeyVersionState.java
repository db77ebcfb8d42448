package org.openkcm.core.tenant;

/** Where an L3 version is in its life. */
public enum KeyVersionState {
  /** Every new wrap of the service uses it. */
  ACTIVE("active"),
  /** Superseded by a newer version: it only opens envelopes made under it. */
  DECRYPT_ONLY("decrypt-only"),
  /** Destroyed: envelopes under it answer KEY_VERSION_RETIRED. */
  RETIRED("retired");

  private final String id;

  KeyVersionState(String id) {
    this.id = id;
  }

  /** The form on the wire and in the CLI's output. */
  public String id() {
    return id;
  }
}
