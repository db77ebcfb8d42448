package org.openkcm.node.authz;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.node.audit.AuditSink;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * The audit trail's database stops answering (a sink that blocks, as the trail does while it
 * reconnects): records pile up to the queue's capacity, and from then on every node refuses new
 * requests with AUDIT_BACKLOG_FULL (a kill still passes) instead of parking the caller's thread;
 * once the database is back every record is written, none lost, and requests are admitted again.
 */
class AuditBackpressureTest {

  private static final Guard GUARD =
      new Guard(
          Optional.of(
              Authorizer.load(
                  new Authorizer.Settings(
                      List.of("classpath:policies/default.cedar"),
                      Duration.ofMinutes(1),
                      100,
                      Duration.ofHours(1),
                      new Assignments(
                          Map.of(), Map.of("so", Set.of(AdminRole.SECURITY_OFFICER)))))));
  private static final Optional<SpiffeId> APP =
      Optional.of(SpiffeId.parse("spiffe://openkcm.local/app/acme/payments"));
  private static final Optional<SpiffeId> OFFICER =
      Optional.of(SpiffeId.parse("spiffe://openkcm.local/admin/so"));

  @Test
  void aStoppedAuditDatabaseShedsNewRequestsAndLosesNoRecord() throws Exception {
    CountDownLatch databaseBack = new CountDownLatch(1);
    AtomicLong written = new AtomicLong();
    AuditSink stuck =
        new AuditSink() {
          @Override
          public void accept(String tenant, String event, String json) {
            acceptAll(List.of(new Entry(tenant, event, json, java.time.Instant.now())));
          }

          @Override
          public void acceptAll(List<Entry> batch) {
            try {
              databaseBack.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
            }
            written.addAndGet(batch.stream().filter(e -> e.event().equals("pressure")).count());
          }
        };
    long shedBefore = AuditLog.shed();
    int offered = 0;
    try (AutoCloseable sink = AuditLog.addSink(stuck)) {
      try {
        // records of admitted requests pile up while the database is away, none waits
        while (AuditLog.admitting() && offered < 1_000_000) {
          AuditLog.recordLater("pressure", "n", offered++);
        }
        OpenKcmException shed =
            assertThrows(
                OpenKcmException.class,
                () ->
                    GUARD.require(
                        APP, "Decrypt", List.of(Guard.Scope.tenant("acme", "payments")), "c"));
        assertEquals(ErrorReason.AUDIT_BACKLOG_FULL, shed.reason(), shed.getMessage());
        assertTrue(AuditLog.shed() > shedBefore, "counted for the metric");
        assertDoesNotThrow(
            () ->
                GUARD.require(OFFICER, "KillTenant", List.of(Guard.Scope.tenant("acme", "")), "c"),
            "a kill is always admitted");
      } finally {
        databaseBack.countDown();
      }
      AuditLog.flushDeferred(Duration.ofSeconds(60));
    }
    assertEquals(offered, written.get(), "every record of an admitted request written");
    assertTrue(AuditLog.admitting(), "drained: admitted again");
    assertDoesNotThrow(
        () -> GUARD.require(APP, "Decrypt", List.of(Guard.Scope.tenant("acme", "payments")), "c"));
  }
}
