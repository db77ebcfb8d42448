package org.openkcm.core.tenant;

/** Where a tenant stands, as the admin API reports it ({@link #id()} is the wire form). */
public enum TenantStatus {
  /** Serving (keys unsealed on first use). */
  ACTIVE("active"),
  /** The customer's keystore refused L1: nothing opens until it works again. */
  L1_REVOKED("l1-revoked"),
  /** A tenant kill or a region/global kill-switch is in force. */
  KILLED("killed");

  private final String id;

  TenantStatus(String id) {
    this.id = id;
  }

  public String id() {
    return id;
  }
}
