package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import com.google.protobuf.ByteString;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.core.tenant.TenantEntity;
import org.openkcm.core.testing.Bytes;
import org.openkcm.core.testing.PostgresSchema;
import org.openkcm.protocol.admin.v1.AdminServiceClient;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.KeyVersionInfo;
import org.openkcm.protocol.admin.v1.RetireKeysRequest;
import org.openkcm.protocol.admin.v1.RotateKeyRequest;
import org.openkcm.protocol.admin.v1.TenantInfo;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;

/**
 * Key versions end to end on PostgreSQL: gateway traffic through an L3 and an L2 rotation without a
 * failed request; envelopes of every version opening until retirement; after retirement the journal
 * and snapshot tables hold no byte of the retired blob.
 */
class KeyLifecycleIT {

  private static PgStack stack;

  @BeforeAll
  static void start() throws Exception {
    stack = PgStack.start("lifecycle", Map.of(), Map.of());
    admin(
        a ->
            a.createTenant(
                CreateTenantRequest.newBuilder()
                    .setTenantId("acme")
                    .setL1Reference("devfile:acme-root")
                    .build()));
    for (String service : List.of("payments", "ledger")) {
      admin(
          a ->
              a.createService(
                  CreateServiceRequest.newBuilder()
                      .setTenantId("acme")
                      .setServiceId(service)
                      .build()));
    }
  }

  @AfterAll
  static void stop() throws Exception {
    if (stack != null) {
      stack.close();
    }
  }

  /** A data key and the context it was made with. */
  private record Made(GenerateDataKeyResponse key, String order) {}

  @Test
  void trafficRunsThroughAnL3AndAnL2RotationWithoutAFailedRequest() throws Exception {
    AtomicBoolean running = new AtomicBoolean(true);
    AtomicInteger failures = new AtomicInteger();
    AtomicInteger calls = new AtomicInteger();
    ConcurrentLinkedQueue<Made> made = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
    List<Thread> load = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      Thread thread =
          new Thread(
              () -> {
                // bounded: stops by itself after 3,000 calls per thread
                for (int i = 0; running.get() && i < 3_000; i++) {
                  try {
                    String order = Thread.currentThread().getName() + "-" + i;
                    GenerateDataKeyResponse key = generate("payments", order);
                    assertArrayEquals(
                        key.getPlaintext().toByteArray(), decrypt(key.getEnvelope(), order));
                    made.add(new Made(key, order));
                    calls.addAndGet(2);
                  } catch (Throwable e) {
                    failures.incrementAndGet();
                    errors.add(e);
                  }
                }
              },
              "load-" + t);
      thread.start();
      load.add(thread);
    }
    awaitCalls(calls, 200);
    TenantInfo rotated =
        admin(
            a ->
                a.rotateServiceKey(
                    RotateKeyRequest.newBuilder()
                        .setTenantId("acme")
                        .setServiceId("payments")
                        .setRequestedBy("it")
                        .build()));
    assertEquals(2, service(rotated, "payments").getL3Version());
    awaitCalls(calls, calls.get() + 200);
    TenantInfo l2 =
        admin(
            a ->
                a.rotateTenantKey(
                    RotateKeyRequest.newBuilder()
                        .setTenantId("acme")
                        .setRequestedBy("it")
                        .build()));
    assertEquals(2, l2.getL2Version());
    awaitCalls(calls, calls.get() + 200);
    running.set(false);
    for (Thread t : load) {
      t.join(60_000);
    }
    assertEquals(0, failures.get(), () -> "failed requests: " + errors.peek());
    // envelopes of both versions were made under load, and every one still opens
    long v1 = made.stream().filter(m -> m.key().getL3Version() == 1).count();
    long v2 = made.stream().filter(m -> m.key().getL3Version() == 2).count();
    assertTrue(v1 > 0 && v2 > 0, "v1=" + v1 + " v2=" + v2);
    for (Made m : made) {
      assertArrayEquals(
          m.key().getPlaintext().toByteArray(), decrypt(m.key().getEnvelope(), m.order()));
    }
  }

  @Test
  void retirementLeavesNoByteOfTheRetiredBlobInTheJournalOrTheSnapshots() throws Exception {
    GenerateDataKeyResponse old = generate("ledger", "o-1");
    Serialization serialization = SerializationExtension.get(stack.core().system());
    byte[] v1Blob = null;
    for (PostgresSchema.StoredEvent e : stack.db.events("Tenant|acme")) {
      Object event = serialization.deserialize(e.payload(), e.serId(), e.manifest()).get();
      if (event instanceof TenantEntity.ServiceCreated created
          && created.serviceId().equals("ledger")) {
        v1Blob = created.wrappedL3();
      }
    }
    assertTrue(v1Blob != null && v1Blob.length > 32, "the v1 blob of ledger is in the journal");
    assertTrue(containedAnywhere(v1Blob), "found before retirement (the search works)");

    admin(
        a ->
            a.rotateServiceKey(
                RotateKeyRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("ledger")
                    .setRequestedBy("it")
                    .build()));
    GenerateDataKeyResponse current = generate("ledger", "o-2");
    TenantInfo retired =
        admin(
            a ->
                a.retireServiceKeys(
                    RetireKeysRequest.newBuilder()
                        .setTenantId("acme")
                        .setServiceId("ledger")
                        .setBelow(2)
                        .setRequestedBy("it")
                        .build()));
    KeyVersionInfo v1 = service(retired, "ledger").getVersions(0);
    assertEquals("retired", v1.getState());
    assertEquals(
        HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(v1Blob)),
        v1.getDestroyedSha256(),
        "the receipt names the destroyed blob by its hash");

    byte[] blob = v1Blob;
    stack
        .client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(15),
            () -> {
              assertFalse(
                  containedAnywhere(blob), "a byte-for-byte copy of the retired blob remains");
              return null;
            });
    OpenKcmException refused =
        org.junit.jupiter.api.Assertions.assertThrows(
            OpenKcmException.class, () -> decrypt(old.getEnvelope(), "o-1"));
    assertEquals(ErrorReason.KEY_VERSION_RETIRED, refused.reason());
    assertArrayEquals(current.getPlaintext().toByteArray(), decrypt(current.getEnvelope(), "o-2"));

    // a restart recovers from the snapshot: still retired, the current version still opens
    stack.stopCore();
    stack.startCore();
    assertEquals(
        ErrorReason.KEY_VERSION_RETIRED,
        org.junit.jupiter.api.Assertions.assertThrows(
                OpenKcmException.class, () -> decrypt(old.getEnvelope(), "o-1"))
            .reason());
    assertArrayEquals(current.getPlaintext().toByteArray(), decrypt(current.getEnvelope(), "o-2"));
  }

  // ---------------------------------------------------------------- helpers

  private static boolean containedAnywhere(byte[] blob) throws Exception {
    for (PostgresSchema.StoredEvent e : stack.db.events("Tenant|acme")) {
      if (Bytes.indexOf(e.payload(), blob) >= 0) {
        return true;
      }
    }
    for (byte[] s : stack.db.snapshotPayloads("Tenant|acme")) {
      if (Bytes.indexOf(s, blob) >= 0) {
        return true;
      }
    }
    return false;
  }

  private static void awaitCalls(AtomicInteger calls, int atLeast) {
    stack
        .client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(60),
            () -> {
              assertTrue(calls.get() >= atLeast, "calls " + calls.get());
              return null;
            });
  }

  private static org.openkcm.protocol.admin.v1.ServiceInfo service(TenantInfo info, String id) {
    return info.getServicesList().stream()
        .filter(s -> s.getServiceId().equals(id))
        .findFirst()
        .orElseThrow();
  }

  private static GenerateDataKeyResponse generate(String service, String order) {
    return await(
        stack.app.generateDataKey(
            GenerateDataKeyRequest.newBuilder()
                .setTenantId("acme")
                .setServiceId(service)
                .putContext("order", order)
                .build()));
  }

  private static byte[] decrypt(ByteString envelope, String order) {
    return await(
            stack.app.decrypt(
                DecryptRequest.newBuilder()
                    .setTenantId("acme")
                    .setEnvelope(envelope)
                    .putContext("order", order)
                    .build()))
        .getPlaintext()
        .toByteArray();
  }

  private static TenantInfo admin(Function<AdminServiceClient, CompletionStage<TenantInfo>> call) {
    return stack.admin(call);
  }
}
