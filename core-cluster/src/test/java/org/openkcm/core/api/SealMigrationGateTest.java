package org.openkcm.core.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/** The seal migration is a one-time, two-person act, never a standing permission. */
class SealMigrationGateTest {

  private static final Optional<SpiffeId> OPS =
      Optional.of(SpiffeId.parse("spiffe://openkcm.local/admin/ops"));
  private static final Optional<SpiffeId> SO =
      Optional.of(SpiffeId.parse("spiffe://openkcm.local/admin/so"));

  @Test
  void offUnlessTheNodeWasStartedForItAndThenOnlyForTwoIdentitiesOnce() {
    AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-12-08T10:00:00Z"));
    Clock clock =
        new Clock() {
          @Override
          public ZoneOffset getZone() {
            return ZoneOffset.UTC;
          }

          @Override
          public Clock withZone(java.time.ZoneId zone) {
            return this;
          }

          @Override
          public Instant instant() {
            return now.get();
          }
        };
    OpenKcmException off =
        assertThrows(
            OpenKcmException.class,
            () -> new SealMigrationGate(false, Duration.ofMinutes(10), clock).admit(OPS));
    assertEquals(ErrorReason.PERMISSION_DENIED, off.reason());
    assertTrue(off.getMessage().contains("openkcm.core.seal.migration = on"), off.getMessage());

    SealMigrationGate gate = new SealMigrationGate(true, Duration.ofMinutes(10), clock);
    assertTrue(gate.admit(OPS, "acme").orElseThrow().contains("another identity must run"));
    assertTrue(gate.admit(SO, "").isPresent(), "a second identity approves only the same scope");
    assertTrue(gate.admit(SO, "").isPresent(), "the same identity twice is not two people");
    assertTrue(gate.admit(OPS, "").isEmpty(), "a second identity, same scope, in the window: runs");
    assertTrue(gate.admit(OPS, "").isPresent(), "the approval was used up");
    now.set(now.get().plus(Duration.ofMinutes(11)));
    assertTrue(gate.admit(SO, "").isPresent(), "a request older than the window lapsed");
    now.set(now.get().plus(Duration.ofMinutes(9)));
    assertTrue(gate.admit(OPS, "").isEmpty());
    assertTrue(gate.admit(Optional.empty()).isEmpty(), "plaintext (tests): no identities to count");
  }
}
