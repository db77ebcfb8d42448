package org.openkcm.protocol.event;

import java.util.Arrays;
import java.util.Optional;

/**
 * The kinds of tenant events the Core publishes to gateways ({@code TenantEvent.kind} on the wire,
 * {@link #id()}). {@link #blocks()} says whether a gateway must drop what it holds for the tenant.
 */
public enum TenantEventKind {
  HELLO("hello", false),
  KILL_SWITCH("kill-switch", false),
  KILLED("killed", true),
  REVIVED("revived", false),
  L1_REVOKED("l1-revoked", true),
  L1_RESTORED("l1-restored", false),
  KEYS_WIPED("keys-wiped", true),
  ONBOARDED("onboarded", false),
  SERVICE_CREATED("service-created", false),
  L1_LINK_REQUESTED("l1-link-requested", false),
  L1_LINKED("l1-linked", true),
  L1_LINK_FAILED("l1-link-failed", false),
  /** A new L3 (or L2) version is active: gateways drop the tenant's pooled DEKs of older ones. */
  KEY_ROTATED("key-rotated", false),
  /** The tenant was offboarded: gateways drop everything of it, its vault keys included. */
  OFFBOARDED("offboarded", true);

  private final String id;
  private final boolean blocks;

  TenantEventKind(String id, boolean blocks) {
    this.id = id;
    this.blocks = blocks;
  }

  public String id() {
    return id;
  }

  /**
   * Whether a gateway drops the tenant's pools and cache on this event (it re-confirms with the
   * Core).
   */
  public boolean blocks() {
    return blocks;
  }

  /** The kind of a wire id; empty for a kind this build does not know (a newer Core). */
  public static Optional<TenantEventKind> parse(String id) {
    return Arrays.stream(values()).filter(k -> k.id.equals(id)).findFirst();
  }
}
