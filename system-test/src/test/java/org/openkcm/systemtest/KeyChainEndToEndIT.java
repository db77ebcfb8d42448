package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openkcm.core.testing.Bytes;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.TenantInfo;
import org.openkcm.protocol.envelope.Envelope;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;

/**
 * The whole key chain over real gRPC on loopback: application -> gateway -> Core, the Core's
 * journal on the real PostgreSQL, the development L1 keystore in a temporary directory.
 */
class KeyChainEndToEndIT {

  private PgStack stack;

  @BeforeEach
  void startStack() throws Exception {
    stack = PgStack.start("e2e", Map.of(), Map.of());
    onboard("acme", "devfile:acme-root", "payments");
    onboard("globex", "devfile:globex-root", "payments");
  }

  @AfterEach
  void stopStack() throws Exception {
    if (stack != null) {
      stack.close();
    }
  }

  @Test
  void generatedKeyDecryptsAtTheGatewayAndNothingPlainIsPersisted() throws Exception {
    GenerateDataKeyResponse generated = generate("acme", "payments", Map.of("order", "42"));
    assertEquals(32, generated.getPlaintext().size());
    Envelope envelope = EnvelopeCodec.decode(generated.getEnvelope().toByteArray());
    assertEquals("acme", envelope.tenantId());
    assertEquals("payments", envelope.serviceId());
    assertEquals(1, envelope.l3Version());

    assertArrayEquals(
        generated.getPlaintext().toByteArray(),
        decrypt("acme", generated.getEnvelope(), Map.of("order", "42")));

    List<byte[]> payloads = stack.db.eventPayloads("Tenant|");
    assertEquals(
        6,
        payloads.size(),
        "2 onboardings + 2 services, each with its first nonce-budget block; wrap/unwrap persist"
            + " nothing within that block");
    byte[] dek = generated.getPlaintext().toByteArray();
    payloads.forEach(p -> assertFalse(Bytes.indexOf(p, dek) >= 0, "a DEK reached the journal"));
  }

  @Test
  void envelopeStillDecryptsAfterTheCoreRestartsOnTheSameDatabase() throws Exception {
    GenerateDataKeyResponse generated = generate("acme", "payments", Map.of("order", "7"));
    stack.stopCore();

    OpenKcmException down =
        assertThrows(
            OpenKcmException.class,
            () -> decrypt("acme", generated.getEnvelope(), Map.of("order", "7")));
    assertTrue(
        Arrays.asList(ErrorReason.CORE_UNAVAILABLE, ErrorReason.TIMEOUT).contains(down.reason()),
        down.oneLine());

    stack.startCore();
    assertFalse(tenant("acme").getUnsealed(), "a fresh Core holds no key until first use");
    stack
        .client
        .createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(30),
            Duration.ofMillis(250),
            () -> {
              assertArrayEquals(
                  generated.getPlaintext().toByteArray(),
                  decrypt("acme", generated.getEnvelope(), Map.of("order", "7")));
              return null;
            });
    assertTrue(tenant("acme").getUnsealed(), "first use unsealed L2/L3 from L1 again");
  }

  @Test
  void secondTenantCannotDecryptTheFirstTenantsEnvelope() throws Exception {
    GenerateDataKeyResponse acme = generate("acme", "payments", Map.of());
    OpenKcmException asGlobex =
        assertThrows(OpenKcmException.class, () -> decrypt("globex", acme.getEnvelope(), Map.of()));
    assertEquals(ErrorReason.ENVELOPE_TENANT_MISMATCH, asGlobex.reason());
    assertEquals(Status.Code.PERMISSION_DENIED, asGlobex.reason().grpcCode());

    // Forge the header to say "globex" around acme's ciphertext: globex's L3 cannot open it (AAD +
    // key).
    Envelope e = EnvelopeCodec.decode(acme.getEnvelope().toByteArray());
    byte[] raw = acme.getEnvelope().toByteArray();
    byte[] header =
        EnvelopeCodec.encodeHeader(
            new org.openkcm.protocol.envelope.EnvelopeHeader("globex", "payments", 1), 32);
    int acmeHeader = EnvelopeCodec.encodeHeader(e.header(), 32).length;
    byte[] forged = new byte[header.length + raw.length - acmeHeader];
    System.arraycopy(header, 0, forged, 0, header.length);
    System.arraycopy(raw, acmeHeader, forged, header.length, raw.length - acmeHeader);
    OpenKcmException forgedFails =
        assertThrows(
            OpenKcmException.class, () -> decrypt("globex", ByteString.copyFrom(forged), Map.of()));
    assertEquals(ErrorReason.ENVELOPE_AUTHENTICATION_FAILED, forgedFails.reason());

    // and acme's envelope still opens for acme: nothing was lost
    assertArrayEquals(
        acme.getPlaintext().toByteArray(), decrypt("acme", acme.getEnvelope(), Map.of()));
  }

  @Test
  void badRequestsFailWithTheirReason() throws Exception {
    GenerateDataKeyResponse g = generate("acme", "payments", Map.of("k", "v"));
    byte[] tampered = g.getEnvelope().toByteArray();
    tampered[tampered.length - 5] ^= 0x40;
    byte[] truncated = Arrays.copyOf(g.getEnvelope().toByteArray(), 30);

    assertReason(
        ErrorReason.ENVELOPE_AUTHENTICATION_FAILED,
        () -> decrypt("acme", g.getEnvelope(), Map.of("k", "w")));
    assertReason(
        ErrorReason.ENVELOPE_AUTHENTICATION_FAILED,
        () -> decrypt("acme", ByteString.copyFrom(tampered), Map.of("k", "v")));
    assertReason(
        ErrorReason.ENVELOPE_TRUNCATED,
        () -> decrypt("acme", ByteString.copyFrom(truncated), Map.of("k", "v")));
    assertReason(
        ErrorReason.ENVELOPE_BAD_MAGIC,
        () -> decrypt("acme", ByteString.copyFromUtf8("hello world"), Map.of()));
    assertReason(ErrorReason.SERVICE_NOT_FOUND, () -> generate("acme", "audit", Map.of()));
    assertReason(ErrorReason.TENANT_NOT_FOUND, () -> generate("nobody", "payments", Map.of()));
    assertReason(ErrorReason.INVALID_ARGUMENT, () -> generate("Not Valid", "payments", Map.of()));
    assertReason(
        ErrorReason.INVALID_ARGUMENT,
        () ->
            await(
                stack.app.generateDataKey(
                    GenerateDataKeyRequest.newBuilder()
                        .setTenantId("acme")
                        .setServiceId("payments")
                        .setKeyLength(20)
                        .build())));
    assertReason(ErrorReason.INVALID_CONTEXT, () -> generate("acme", "payments", Map.of("", "x")));
    // the original envelope is intact after all of that
    assertArrayEquals(
        g.getPlaintext().toByteArray(), decrypt("acme", g.getEnvelope(), Map.of("k", "v")));
  }

  // ------------------------------------------------------------------ helpers

  private void onboard(String tenant, String l1, String service) {
    stack.admin(
        a ->
            a.createTenant(
                CreateTenantRequest.newBuilder().setTenantId(tenant).setL1Reference(l1).build()));
    stack.admin(
        a ->
            a.createService(
                CreateServiceRequest.newBuilder()
                    .setTenantId(tenant)
                    .setServiceId(service)
                    .build()));
  }

  private TenantInfo tenant(String tenant) {
    return stack.admin(a -> a.getTenant(GetTenantRequest.newBuilder().setTenantId(tenant).build()));
  }

  private GenerateDataKeyResponse generate(String tenant, String service, Map<String, String> ctx) {
    return await(
        stack.app.generateDataKey(
            GenerateDataKeyRequest.newBuilder()
                .setTenantId(tenant)
                .setServiceId(service)
                .putAllContext(ctx)
                .build()));
  }

  private byte[] decrypt(String tenant, ByteString envelope, Map<String, String> ctx) {
    return await(
            stack.app.decrypt(
                DecryptRequest.newBuilder()
                    .setTenantId(tenant)
                    .setEnvelope(envelope)
                    .putAllContext(ctx)
                    .build()))
        .getPlaintext()
        .toByteArray();
  }

  private static void assertReason(ErrorReason expected, Runnable call) {
    OpenKcmException e = assertThrows(OpenKcmException.class, call::run);
    assertEquals(expected, e.reason(), e.oneLine());
    assertFalse(e.getMessage().isBlank());
  }
}
