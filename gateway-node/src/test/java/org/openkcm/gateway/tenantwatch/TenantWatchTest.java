package org.openkcm.gateway.tenantwatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.openkcm.protocol.core.v1.TenantEvent;

/**
 * How the gateway applies each event kind: blocking kinds and unknown kinds drop the tenant, others
 * do not.
 */
class TenantWatchTest {

  private final TenantStates states = new TenantStates(Duration.ofMinutes(5));
  private final List<String> flushed = new ArrayList<>();

  private void confirmedAt(long sequence) {
    TenantWatch.apply(TenantEvent.newBuilder().setKind("hello").build(), states, flushed::add);
    assertTrue(states.confirm("acme", states.generation()));
    assertTrue(states.answered("acme", sequence));
    flushed.clear();
  }

  private void event(String kind, long sequence) {
    TenantWatch.apply(
        TenantEvent.newBuilder().setKind(kind).setTenantId("acme").setSequence(sequence).build(),
        states,
        flushed::add);
  }

  @Test
  void blockingKindsDropTheTenantOthersKeepIt() {
    confirmedAt(3);
    event("service-created", 4);
    assertTrue(states.mayServeLocally("acme"));
    assertTrue(flushed.isEmpty());
    for (String blocking : List.of("killed", "l1-revoked", "keys-wiped", "l1-linked")) {
      confirmedAt(10);
      event(blocking, 11);
      assertFalse(states.mayServeLocally("acme"), blocking);
      assertEquals(List.of("acme"), flushed, blocking);
    }
  }

  @Test
  void aRotationDropsThePooledKeysButKeepsServing() {
    confirmedAt(3);
    event("key-rotated", 4);
    assertEquals(List.of("acme"), flushed, "pools of the older version dropped");
    assertTrue(states.mayServeLocally("acme"), "not a block: the tenant keeps being served");
  }

  @Test
  void anUnknownKindFromANewerCoreFailsClosed() {
    confirmedAt(3);
    event("tenant-exploded", 4);
    assertFalse(states.mayServeLocally("acme"));
    assertEquals(List.of("acme"), flushed);
  }
}
