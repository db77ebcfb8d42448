package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import java.nio.file.Files;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.node.audit.AuditSink;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DecryptBatchRequest;
import org.openkcm.protocol.gateway.v1.DecryptItem;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;

/**
 * Which application opened which tenant's keys, and when: each data-key call at the gateway leaves
 * one audit record in the tenant's chain naming the verified caller, the operation, the number of
 * keys and the outcome — a denied one too. Core and gateway under mutual TLS on PostgreSQL.
 */
class GatewayCallAuditIT {

  @Test
  void eachDataKeyCallLeavesOneRecordNamingTheApplicationItsKeysAndItsOutcome() throws Exception {
    Map<String, Object> core = new HashMap<>();
    OrbitalRegions.mutualTls(core, "core", Files.createTempDirectory("openkcm-gw-audit"));
    List<String> calls = new CopyOnWriteArrayList<>();
    AuditSink sink =
        (tenant, event, json) -> {
          if (event.equals("gateway.call")) {
            calls.add(tenant + " " + json);
          }
        };
    try (PgStack stack = PgStack.start("gw-audit", core, Map.of());
        AutoCloseable registered = AuditLog.addSink(sink)) {
      stack.admin(
          a ->
              a.createTenant(
                  CreateTenantRequest.newBuilder()
                      .setTenantId("acme")
                      .setL1Reference("devfile:acme-root")
                      .build()));
      for (String service : List.of("payments", "ledger")) {
        stack.admin(
            a ->
                a.createService(
                    CreateServiceRequest.newBuilder()
                        .setTenantId("acme")
                        .setServiceId(service)
                        .build()));
      }
      GenerateDataKeyResponse key =
          await(
              stack
                  .app("acme", "payments")
                  .generateDataKey(
                      GenerateDataKeyRequest.newBuilder()
                          .setTenantId("acme")
                          .setServiceId("payments")
                          .setCorrelationId("order-42")
                          .build()));
      DecryptItem item = DecryptItem.newBuilder().setEnvelope(key.getEnvelope()).build();
      await(
          stack
              .app("acme", "payments")
              .decryptBatch(
                  DecryptBatchRequest.newBuilder()
                      .setTenantId("acme")
                      .addItems(item)
                      .addItems(item)
                      .addItems(item)
                      .build()));
      // another service of the tenant may not open payments' keys: denied, and recorded
      assertThrows(
          OpenKcmException.class,
          () ->
              await(
                  stack
                      .app("acme", "ledger")
                      .decrypt(
                          DecryptRequest.newBuilder()
                              .setTenantId("acme")
                              .setEnvelope(key.getEnvelope())
                              .build())));
      AuditLog.flushDeferred(Duration.ofSeconds(10));
    }
    assertEquals(3, calls.size(), calls.toString());
    String app = "spiffe://openkcm.local/app/acme/";
    assertTrue(
        calls.get(0).startsWith("acme ")
            && calls.get(0).contains("\"operation\":\"GenerateDataKey\"")
            && calls.get(0).contains("\"caller\":\"" + app + "payments\"")
            && calls.get(0).contains("\"count\":1")
            && calls.get(0).contains("\"cid\":\"order-42\"")
            && calls.get(0).contains("\"outcome\":\"ok\""),
        calls.get(0));
    assertTrue(
        calls.get(1).contains("\"operation\":\"DecryptBatch\"")
            && calls.get(1).contains("\"count\":3"),
        calls.get(1));
    assertTrue(
        calls.get(2).contains("\"operation\":\"Decrypt\"")
            && calls.get(2).contains("\"caller\":\"" + app + "ledger\"")
            && calls.get(2).contains("\"outcome\":\"PERMISSION_DENIED\""),
        calls.get(2));
  }
}
