package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.Test;
import org.openkcm.core.tenant.LifecycleProtocol;
import org.openkcm.core.testing.PostgresSchema;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;

/**
 * The nonce budget with a tiny budget, through the gateway (no pool: one wrap per key) on
 * PostgreSQL: the L3 rotates by itself before the budget is spent, and a Core stopped in the middle
 * of a reserved block resumes past that block — it never reuses budget, so fewer wraps are made
 * under the old version than its budget allows.
 */
class NonceBudgetIT {

  private static final int ROTATE_AT = 50;

  @Test
  void theL3RotatesByItselfAndARestartNeverReusesBudget() throws Exception {
    try (PgStack stack =
        PgStack.start(
            "budget",
            Map.of(
                "openkcm.core.tenant.lifecycle.nonce-budget.max-wraps", 60,
                "openkcm.core.tenant.lifecycle.nonce-budget.rotate-at", ROTATE_AT,
                "openkcm.core.tenant.lifecycle.nonce-budget.reserve-block", 7),
            Map.of("openkcm.gateway.pool.enabled", false))) {
      stack.admin(
          a ->
              a.createTenant(
                  CreateTenantRequest.newBuilder()
                      .setTenantId("acme")
                      .setL1Reference("devfile:acme-root")
                      .build()));
      stack.admin(
          a ->
              a.createService(
                  CreateServiceRequest.newBuilder()
                      .setTenantId("acme")
                      .setServiceId("payments")
                      .build()));
      List<GenerateDataKeyResponse> keys = new ArrayList<>();
      for (int i = 0; i < 10; i++) {
        keys.add(generate(stack, i));
      }
      long reservedBeforeStop = reservedFor(stack, 1);
      assertTrue(
          reservedBeforeStop > 10, "a block beyond the 10 wraps made: " + reservedBeforeStop);

      stack.stopCore(); // mid-block: the unused rest of the reservation must be skipped
      stack.startCore();
      stack
          .client
          .createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(30),
              () -> {
                keys.add(generate(stack, keys.size()));
                return null;
              });
      for (int i = keys.size(); i < 80; i++) {
        keys.add(generate(stack, i));
      }

      Map<Integer, Integer> perVersion = new TreeMap<>();
      keys.forEach(k -> perVersion.merge(k.getL3Version(), 1, Integer::sum));
      assertTrue(perVersion.size() >= 2, "rotated by itself: " + perVersion);
      perVersion
          .values()
          .forEach(n -> assertTrue(n <= ROTATE_AT, "past the budget: " + perVersion));
      assertEquals(
          10 + (ROTATE_AT - reservedBeforeStop),
          perVersion.get(1).longValue(),
          "v1 resumed counting at its reserved bound after the restart: " + perVersion);
      for (int i = 0; i < keys.size(); i++) {
        GenerateDataKeyResponse k = keys.get(i);
        assertArrayEquals(
            k.getPlaintext().toByteArray(),
            await(
                    stack.app.decrypt(
                        DecryptRequest.newBuilder()
                            .setTenantId("acme")
                            .setEnvelope(k.getEnvelope())
                            .putContext("i", Integer.toString(i))
                            .build()))
                .getPlaintext()
                .toByteArray());
      }
    }
  }

  private static GenerateDataKeyResponse generate(PgStack stack, int i) {
    return await(
        stack.app.generateDataKey(
            GenerateDataKeyRequest.newBuilder()
                .setTenantId("acme")
                .setServiceId("payments")
                .putContext("i", Integer.toString(i))
                .build()));
  }

  /** The highest reservation of L3 version {@code version} in the journal. */
  private static long reservedFor(PgStack stack, long version) throws Exception {
    Serialization serialization = SerializationExtension.get(stack.core().system());
    long reserved = 0;
    for (PostgresSchema.StoredEvent e : stack.db.events("Tenant|acme")) {
      Object event = serialization.deserialize(e.payload(), e.serId(), e.manifest()).get();
      if (event instanceof LifecycleProtocol.WrapBudgetReserved r && r.l3Version() == version) {
        reserved = Math.max(reserved, r.reservedUpTo());
      }
    }
    return reserved;
  }
}
