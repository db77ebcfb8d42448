package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import com.google.protobuf.ByteString;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openkcm.core.keystore.FakeKms;
import org.openkcm.core.keystore.SoftHsm;
import org.openkcm.protocol.admin.v1.AdminServiceClient;
import org.openkcm.protocol.admin.v1.CheckL1Request;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.TenantInfo;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;

/**
 * Customer-held L1 end to end: AWS KMS (through the real SDK against a KMS-protocol endpoint on
 * loopback) and a PKCS#11 token (real SoftHSM2), journal on the real PostgreSQL, data keys through
 * the gateway.
 */
class L1RevocationIT {

  private static final Duration CALL = Duration.ofSeconds(20);
  private static final Duration CHECK_INTERVAL = Duration.ofMillis(500);

  private FakeKms kms;
  private SoftHsm hsm;
  private PgStack stack;

  @BeforeEach
  void start() throws Exception {
    kms = new FakeKms();
    hsm = SoftHsm.shared();
    Map<String, Object> settings = new HashMap<>();
    settings.put("openkcm.core.tenant.l1-check-interval", CHECK_INTERVAL.toMillis() + "ms");
    settings.put("openkcm.core.keystore.aws-kms.enabled", true);
    settings.put("openkcm.core.keystore.aws-kms.endpoint-override", kms.endpoint().toString());
    settings.put(
        "openkcm.core.keystore.aws-kms.static-credentials.access-key-id", "test-access-key");
    settings.put(
        "openkcm.core.keystore.aws-kms.static-credentials.secret-access-key", "test-secret-key");
    settings.put("openkcm.core.keystore.pkcs11.enabled", true);
    settings.put("openkcm.core.keystore.pkcs11.library", SoftHsm.LIBRARY);
    settings.put("openkcm.core.keystore.pkcs11.token-label", hsm.tokenLabel());
    settings.put("openkcm.core.keystore.pkcs11.slot", hsm.settings().slot());
    settings.put("openkcm.core.keystore.pkcs11.pin", SoftHsm.PIN);
    stack = PgStack.start("l1", settings, Map.of());
  }

  @AfterEach
  void stop() throws Exception {
    try {
      if (stack != null) {
        stack.close();
      }
    } finally {
      kms.close();
    }
  }

  @Test
  void disablingTheAwsKeyRefusesEveryDecryptWithinOneCheckIntervalAndEnablingRestoresAll()
      throws Exception {
    String arn = kms.createKey();
    admin(
        a ->
            a.createTenant(
                CreateTenantRequest.newBuilder()
                    .setTenantId("acme")
                    .setL1Reference("aws-kms:" + arn)
                    .build()));
    admin(
        a ->
            a.createService(
                CreateServiceRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("payments")
                    .build()));
    List<GenerateDataKeyResponse> keys = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      keys.add(generate("acme", Map.of("row", Integer.toString(i))));
    }

    kms.disable(arn);
    long disabledAt = System.nanoTime();
    stack
        .client
        .createTestProbe()
        .awaitAssert(
            CHECK_INTERVAL.multipliedBy(10),
            Duration.ofMillis(50),
            () -> {
              assertEquals(
                  ErrorReason.L1_REVOKED, failure(() -> decrypt("acme", keys.get(0), 0)).reason());
              return null;
            });
    long refusedAfterMs = (System.nanoTime() - disabledAt) / 1_000_000;
    System.out.println(
        "L1RevocationIT: first refusal "
            + refusedAfterMs
            + " ms after the KMS key was disabled"
            + " (check interval "
            + CHECK_INTERVAL.toMillis()
            + " ms)");
    for (int i = 0; i < keys.size(); i++) {
      int row = i;
      assertEquals(
          ErrorReason.L1_REVOKED, failure(() -> decrypt("acme", keys.get(row), row)).reason());
    }
    String told = failure(() -> decrypt("acme", keys.get(0), 0)).getMessage();
    assertTrue(
        !told.contains(arn) && !told.contains("111122223333"),
        "an application is not told the L1 ARN: " + told);
    // pooled keys are dropped when the revocation event reaches the gateway (milliseconds later)
    stack
        .client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(5),
            Duration.ofMillis(20),
            () -> {
              assertEquals(
                  ErrorReason.L1_REVOKED, failure(() -> generate("acme", Map.of())).reason());
              return null;
            });
    TenantInfo revoked =
        admin(a -> a.getTenant(GetTenantRequest.newBuilder().setTenantId("acme").build()));
    assertEquals("l1-revoked", revoked.getStatus());
    assertFalse(revoked.getUnsealed());
    assertEquals("L1_REVOKED", revoked.getRevocationReason());

    // a freshly started Core refuses too
    stack.stopCore();
    stack.startCore();
    stack
        .client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(30),
            Duration.ofMillis(250),
            () -> {
              assertEquals(
                  ErrorReason.L1_REVOKED, failure(() -> decrypt("acme", keys.get(0), 0)).reason());
              return null;
            });

    kms.enable(arn);
    stack
        .client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            Duration.ofMillis(100),
            () -> {
              assertArrayEquals(
                  keys.get(0).getPlaintext().toByteArray(), decrypt("acme", keys.get(0), 0));
              return null;
            });
    for (int i = 0; i < keys.size(); i++) {
      assertArrayEquals(
          keys.get(i).getPlaintext().toByteArray(), decrypt("acme", keys.get(i), i), "row " + i);
    }
    assertEquals(
        "active",
        admin(a -> a.getTenant(GetTenantRequest.newBuilder().setTenantId("acme").build()))
            .getStatus());
  }

  @Test
  void onboardingRefusesKeysThatCannotServeAsL1AndPersistsNothing() throws Exception {
    String disabled = kms.createKey();
    kms.disable(disabled);
    String asymmetric = kms.createKey("RSA_2048", "SIGN_VERIFY");
    Map<String, String> expected =
        Map.of(
            "aws-kms:arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000000",
            "key not found",
            "aws-kms:" + disabled,
            "key disabled",
            "aws-kms:" + asymmetric,
            "SYMMETRIC_DEFAULT",
            "pkcs11:token=" + hsm.tokenLabel() + ";object=never-made",
            "key not found",
            "vault:whatever",
            "no L1 keystore driver");
    int i = 0;
    for (Map.Entry<String, String> e : expected.entrySet()) {
      String tenant = "reject-" + i++;
      OpenKcmException f =
          failure(
              () ->
                  admin(
                      a ->
                          a.createTenant(
                              CreateTenantRequest.newBuilder()
                                  .setTenantId(tenant)
                                  .setL1Reference(e.getKey())
                                  .build())));
      assertEquals(ErrorReason.L1_REJECTED, f.reason(), f.oneLine());
      assertTrue(f.getMessage().contains(e.getValue()), f.getMessage());
      assertEquals(
          ErrorReason.TENANT_NOT_FOUND,
          failure(
                  () ->
                      admin(
                          a ->
                              a.getTenant(
                                  GetTenantRequest.newBuilder().setTenantId(tenant).build())))
              .reason());
    }
  }

  @Test
  void deletingTheHsmKeyRevokesTheTenant() throws Exception {
    hsm.createAesKey("hyok-root");
    admin(
        a ->
            a.createTenant(
                CreateTenantRequest.newBuilder()
                    .setTenantId("hyok")
                    .setL1Reference("pkcs11:token=" + hsm.tokenLabel() + ";object=hyok-root")
                    .build()));
    admin(
        a ->
            a.createService(
                CreateServiceRequest.newBuilder()
                    .setTenantId("hyok")
                    .setServiceId("payments")
                    .build()));
    GenerateDataKeyResponse key = generate("hyok", Map.of());
    assertArrayEquals(key.getPlaintext().toByteArray(), decrypt("hyok", key, -1));

    hsm.deleteKey("hyok-root");
    TenantInfo checked =
        admin(a -> a.checkL1(CheckL1Request.newBuilder().setTenantId("hyok").build()));
    assertEquals("l1-revoked", checked.getStatus());
    assertFalse(checked.getUnsealed());
    assertEquals(ErrorReason.L1_REVOKED, failure(() -> decrypt("hyok", key, -1)).reason());
  }

  // ------------------------------------------------------------------ helpers

  private GenerateDataKeyResponse generate(String tenant, Map<String, String> ctx) {
    return await(
        stack.app.generateDataKey(
            GenerateDataKeyRequest.newBuilder()
                .setTenantId(tenant)
                .setServiceId("payments")
                .putAllContext(ctx)
                .build()));
  }

  private byte[] decrypt(String tenant, GenerateDataKeyResponse key, int row) {
    DecryptRequest.Builder req =
        DecryptRequest.newBuilder()
            .setTenantId(tenant)
            .setEnvelope(ByteString.copyFrom(key.getEnvelope().toByteArray()));
    if (row >= 0) {
      req.putContext("row", Integer.toString(row));
    }
    return await(stack.app.decrypt(req.build())).getPlaintext().toByteArray();
  }

  private TenantInfo admin(
      java.util.function.Function<AdminServiceClient, CompletionStage<TenantInfo>> call) {
    return stack.admin(call);
  }

  private static OpenKcmException failure(Runnable call) {
    return assertThrows(OpenKcmException.class, call::run);
  }
}
