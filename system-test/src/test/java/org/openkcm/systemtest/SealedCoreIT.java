package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.openkcm.core.seal.ShamirShares;
import org.openkcm.protocol.admin.v1.AdminServiceClient;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.InitSealRequest;
import org.openkcm.protocol.admin.v1.SealRequest;
import org.openkcm.protocol.admin.v1.SealStatusReply;
import org.openkcm.protocol.admin.v1.UnsealRequest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * A Core in Shamir mode on the real PostgreSQL: sealed start, init, k-of-n unseal, wrong share,
 * seal.
 */
class SealedCoreIT {

  private PgStack stack;

  @AfterEach
  void stop() throws Exception {
    if (stack != null) {
      stack.close();
    }
  }

  @Test
  void sealedNodeRefusesUntilThresholdSharesUnsealItAndWrongSharesAreRejected() throws Exception {
    stack =
        PgStack.start(
            "seal",
            // started for the one-time seal migration below (plaintext: no second identity asked)
            Map.of("openkcm.core.seal.mode", "shamir", "openkcm.core.seal.migration", true),
            Map.of());
    ActorTestKit client = stack.client;
    DataKeyServiceClient app = stack.app;

    SealStatusReply fresh = admin(a -> a.sealStatus(SealRequest.getDefaultInstance()));
    assertTrue(fresh.getSealed());
    assertFalse(fresh.getInitialised());
    assertEquals(
        ErrorReason.CORE_SEALED,
        failure(
                () ->
                    admin(
                        a ->
                            a.createTenant(
                                CreateTenantRequest.newBuilder()
                                    .setTenantId("acme")
                                    .setL1Reference("devfile:acme-root")
                                    .build())))
            .reason());

    List<String> shares =
        admin(
                a ->
                    a.initSeal(
                        InitSealRequest.newBuilder()
                            .setShares(5)
                            .setThreshold(3)
                            .setRequestedBy("it")
                            .build()))
            .getSharesList();
    assertEquals(5, shares.size());
    assertEquals(
        ErrorReason.SEAL_ALREADY_INITIALISED,
        failure(
                () ->
                    admin(
                        a ->
                            a.initSeal(
                                InitSealRequest.newBuilder().setShares(3).setThreshold(2).build())))
            .reason());
    admin(
        a ->
            a.createTenant(
                CreateTenantRequest.newBuilder()
                    .setTenantId("acme")
                    .setL1Reference("devfile:acme-root")
                    .build()));
    admin(
        a ->
            a.createService(
                CreateServiceRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("payments")
                    .build()));
    GenerateDataKeyResponse key =
        await(
            app.generateDataKey(
                GenerateDataKeyRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("payments")
                    .build()));

    // restart: the node comes back sealed
    stack.stopCore();
    stack.startCore();
    assertTrue(admin(a -> a.sealStatus(SealRequest.getDefaultInstance())).getSealed());
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(30),
            Duration.ofMillis(250),
            () -> {
              assertEquals(ErrorReason.CORE_SEALED, failure(() -> decrypt(key)).reason());
              return null;
            });

    // fewer than K shares: still sealed
    assertEquals(1, unseal(shares.get(0)).getProgress());
    SealStatusReply two = unseal(shares.get(1));
    assertTrue(two.getSealed());
    assertEquals(2, two.getProgress());
    assertEquals(ErrorReason.CORE_SEALED, failure(() -> decrypt(key)).reason());

    // a share of another cluster's seal completes the count but not the key
    String foreign =
        ShamirShares.split(KeyMaterial.random(32, new SecureRandom()), 5, 3, new SecureRandom())
            .get(2);
    assertEquals(ErrorReason.UNSEAL_FAILED, failure(() -> unseal(foreign)).reason());
    assertTrue(admin(a -> a.sealStatus(SealRequest.getDefaultInstance())).getSealed());
    assertEquals(ErrorReason.INVALID_ARGUMENT, failure(() -> unseal(shares.get(3) + "x")).reason());
    // any failure clears the pending shares; one operator's share twice, or the same share by two
    // operators, does not count
    assertEquals(1, unseal(shares.get(1)).getProgress());
    assertEquals(ErrorReason.INVALID_ARGUMENT, failure(() -> unseal(shares.get(3) + "x")).reason());
    assertEquals(
        0,
        admin(a -> a.sealStatus(SealRequest.getDefaultInstance())).getProgress(),
        "cleared by the failure");
    assertEquals(
        1,
        admin(
                a ->
                    a.unseal(
                        UnsealRequest.newBuilder()
                            .setShare(shares.get(1))
                            .setRequestedBy("alice")
                            .build()))
            .getProgress());
    assertEquals(
        1,
        admin(
                a ->
                    a.unseal(
                        UnsealRequest.newBuilder()
                            .setShare(shares.get(3))
                            .setRequestedBy("alice")
                            .build()))
            .getProgress(),
        "alice's second share replaces her first");
    assertEquals(
        ErrorReason.INVALID_ARGUMENT,
        failure(
                () ->
                    admin(
                        a ->
                            a.unseal(
                                UnsealRequest.newBuilder()
                                    .setShare(shares.get(3))
                                    .setRequestedBy("bob")
                                    .build())))
            .reason(),
        "bob cannot enter alice's share");
    assertEquals(0, admin(a -> a.sealStatus(SealRequest.getDefaultInstance())).getProgress());

    // K good shares (any three)
    unseal(shares.get(4));
    unseal(shares.get(2));
    SealStatusReply open = unseal(shares.get(0));
    assertFalse(open.getSealed());
    assertArrayEquals(key.getPlaintext().toByteArray(), decrypt(key));

    // migrate-seal walks every tenant of the journal; this one was written sealed, so nothing is
    // left to do
    var migrated =
        admin(
            a ->
                a.migrateSeal(
                    org.openkcm.protocol.admin.v1.MigrateSealRequest.getDefaultInstance()));
    assertEquals(1, migrated.getTenants());
    assertEquals(0, migrated.getBlobsSealed());
    // seal again: master key and tenant keys wiped on this node
    assertTrue(
        admin(a -> a.seal(SealRequest.newBuilder().setRequestedBy("it").build())).getSealed());
    client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            Duration.ofMillis(100),
            () -> {
              assertEquals(ErrorReason.CORE_SEALED, failure(() -> decrypt(key)).reason());
              return null;
            });
  }

  private int operator;

  /** Each share is entered by another operator (pending shares are kept one per operator). */
  private SealStatusReply unseal(String share) {
    String by = "op-" + (++operator);
    return admin(
        a -> a.unseal(UnsealRequest.newBuilder().setShare(share).setRequestedBy(by).build()));
  }

  private byte[] decrypt(GenerateDataKeyResponse key) {
    return await(
            stack.app.decrypt(
                DecryptRequest.newBuilder()
                    .setTenantId("acme")
                    .setEnvelope(key.getEnvelope())
                    .build()))
        .getPlaintext()
        .toByteArray();
  }

  @Test
  void sealRecordsNameTheVerifiedIdentityNotTheClaimedOne() throws Exception {
    java.nio.file.Path data = java.nio.file.Files.createTempDirectory("openkcm-seal-tls");
    java.util.Map<String, Object> core = new java.util.HashMap<>();
    core.put("openkcm.core.seal.mode", "shamir");
    OrbitalRegions.mutualTls(core, "core", data.resolve("l1"));
    stack = PgStack.start("seal-tls", core, Map.of());
    List<String> by = new java.util.concurrent.CopyOnWriteArrayList<>();
    org.openkcm.node.audit.AuditSink sink =
        (tenant, event, json) -> {
          if (event.startsWith("seal.")) {
            by.add(event + " " + json);
          }
        };
    try (AutoCloseable registered = org.openkcm.node.audit.AuditLog.addSink(sink)) {
      admin(
          a ->
              a.initSeal(
                  InitSealRequest.newBuilder()
                      .setShares(3)
                      .setThreshold(2)
                      .setRequestedBy("somebody-else")
                      .build()));
      // the seal migration is off on this node: refused whoever asks
      assertEquals(
          ErrorReason.PERMISSION_DENIED,
          failure(
                  () ->
                      admin(
                          a ->
                              a.migrateSeal(
                                  org.openkcm.protocol.admin.v1.MigrateSealRequest
                                      .getDefaultInstance())))
              .reason());
      admin(a -> a.seal(SealRequest.newBuilder().setRequestedBy("somebody-else").build()));
      org.openkcm.node.audit.AuditLog.flushDeferred(Duration.ofSeconds(10));
    }
    List<String> mine =
        by.stream()
            .filter(r -> !r.contains("\"mode\":\"auto\"") && !r.startsWith("seal.migration"))
            .toList();
    assertEquals(2, mine.size(), by.toString());
    for (String record : mine) {
      assertTrue(record.contains("spiffe://openkcm.local/admin/cli"), record);
      assertFalse(record.contains("somebody-else"), record);
    }
  }

  private <T> T admin(Function<AdminServiceClient, CompletionStage<T>> call) {
    return stack.admin(call);
  }

  private static OpenKcmException failure(Runnable call) {
    return assertThrows(OpenKcmException.class, call::run);
  }
}
