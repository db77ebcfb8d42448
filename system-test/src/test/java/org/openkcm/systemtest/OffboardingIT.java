package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openkcm.core.tenant.TenantEntity;
import org.openkcm.core.testing.Bytes;
import org.openkcm.core.testing.PostgresSchema;
import org.openkcm.core.testing.Rpc;
import org.openkcm.gateway.vault.JdbcKeyVault;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.OffboardReceipt;
import org.openkcm.protocol.admin.v1.OffboardTenantRequest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.CreateKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.KeyVaultServiceClient;

/**
 * Offboarding end to end on PostgreSQL, with the gateway's vault on each durable backend: the
 * receipt names every destroyed key version by the hash of its blob; afterwards the journal and
 * snapshot tables hold none of those blobs, the vault backend holds no key of the tenant, every
 * call answers TENANT_OFFBOARDED, and the id comes back only with the explicit flag.
 */
class OffboardingIT {

  private static final String REDIS = "redis://127.0.0.1:6379";

  @ParameterizedTest
  @ValueSource(strings = {"postgres", "redis"})
  void offboardingDestroysEveryKeyEverywhereAndAnswersAReceipt(String backend) throws Exception {
    String prefix = "okcm-off-" + System.nanoTime() % 100000;
    try (PgStack stack =
        PgStack.start(
            "offboard-" + backend,
            Map.of(),
            Map.of(
                "openkcm.gateway.vault.backend", backend,
                "openkcm.gateway.vault.redis.key-prefix", prefix))) {
      String tenant = "gone-" + backend;
      stack.admin(
          a ->
              a.createTenant(
                  CreateTenantRequest.newBuilder()
                      .setTenantId(tenant)
                      .setL1Reference("devfile:" + tenant)
                      .build()));
      stack.admin(
          a ->
              a.createService(
                  CreateServiceRequest.newBuilder()
                      .setTenantId(tenant)
                      .setServiceId("payments")
                      .build()));
      KeyVaultServiceClient vault =
          KeyVaultServiceClient.create(
              GrpcClientSettings.connectToServiceAt(
                      "127.0.0.1", stack.gateway().grpcAddress().getPort(), stack.client.system())
                  .withTls(false)
                  .withDeadline(Rpc.CALL),
              stack.client.system());
      for (int i = 0; i < 3; i++) {
        await(
            vault.createKey(
                CreateKeyRequest.newBuilder()
                    .setTenantId(tenant)
                    .setServiceId("payments")
                    .setSubject("s" + i)
                    .build()));
      }
      assertTrue(vaultHolds(backend, prefix, tenant), "the vault holds the tenant's keys");

      // the blobs the receipt must name (read from the journal before they go)
      Serialization serialization = SerializationExtension.get(stack.core().system());
      byte[] l2 = null;
      byte[] l3 = null;
      for (PostgresSchema.StoredEvent e : stack.db.events("Tenant|" + tenant)) {
        Object event = serialization.deserialize(e.payload(), e.serId(), e.manifest()).get();
        if (event instanceof TenantEntity.TenantOnboarded o) {
          l2 = o.wrappedL2();
        } else if (event instanceof TenantEntity.ServiceCreated c) {
          l3 = c.wrappedL3();
        }
      }
      assertTrue(l2 != null && l3 != null);

      OffboardReceipt receipt =
          stack.admin(
              a ->
                  a.offboardTenant(
                      OffboardTenantRequest.newBuilder()
                          .setTenantId(tenant)
                          .setReason("contract ended")
                          .setRequestedBy("it")
                          .build()));
      assertEquals("contract ended", receipt.getReason());
      assertEquals(2, receipt.getDestroyedCount(), receipt.toString());
      assertEquals("L2", receipt.getDestroyed(0).getKind());
      assertEquals(sha256(l2), receipt.getDestroyed(0).getSha256());
      assertEquals("L3", receipt.getDestroyed(1).getKind());
      assertEquals("payments", receipt.getDestroyed(1).getServiceId());
      assertEquals(sha256(l3), receipt.getDestroyed(1).getSha256());

      byte[] l2Blob = l2;
      byte[] l3Blob = l3;
      stack
          .client
          .createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(20),
              () -> {
                assertFalse(vaultHolds(backend, prefix, tenant), "vault keys left");
                for (PostgresSchema.StoredEvent e : stack.db.events("Tenant|" + tenant)) {
                  assertFalse(
                      Bytes.indexOf(e.payload(), l2Blob) >= 0, "L2 blob left in the journal");
                  assertFalse(
                      Bytes.indexOf(e.payload(), l3Blob) >= 0, "L3 blob left in the journal");
                }
                for (byte[] s : stack.db.snapshotPayloads("Tenant|" + tenant)) {
                  assertFalse(Bytes.indexOf(s, l2Blob) >= 0, "L2 blob left in a snapshot");
                  assertFalse(Bytes.indexOf(s, l3Blob) >= 0, "L3 blob left in a snapshot");
                }
                return null;
              });

      OpenKcmException refused =
          assertThrows(
              OpenKcmException.class,
              () ->
                  await(
                      stack.app.generateDataKey(
                          GenerateDataKeyRequest.newBuilder()
                              .setTenantId(tenant)
                              .setServiceId("payments")
                              .build())));
      assertEquals(ErrorReason.TENANT_OFFBOARDED, refused.reason());
      OpenKcmException again =
          assertThrows(
              OpenKcmException.class,
              () ->
                  stack.admin(
                      a ->
                          a.createTenant(
                              CreateTenantRequest.newBuilder()
                                  .setTenantId(tenant)
                                  .setL1Reference("devfile:" + tenant)
                                  .build())));
      assertEquals(ErrorReason.TENANT_OFFBOARDED, again.reason());
      assertTrue(
          stack
              .admin(
                  a ->
                      a.createTenant(
                          CreateTenantRequest.newBuilder()
                              .setTenantId(tenant)
                              .setL1Reference("devfile:" + tenant)
                              .setReuseOffboardedId(true)
                              .build()))
              .getServicesList()
              .isEmpty(),
          "re-created with the flag: a new tenant, nothing of the old one");
      vault.close();
    }
  }

  private static boolean vaultHolds(String backend, String prefix, String tenant) throws Exception {
    if (backend.equals("postgres")) {
      try (Connection c =
              DriverManager.getConnection("jdbc:postgresql://127.0.0.1:5432/test", "postgres", "");
          PreparedStatement st =
              c.prepareStatement(
                  "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?")) {
        st.setString(1, JdbcKeyVault.schema(tenant));
        ResultSet rs = st.executeQuery();
        rs.next();
        return rs.getInt(1) > 0;
      }
    }
    RedisClient client = RedisClient.create(REDIS);
    try (StatefulRedisConnection<String, String> redis = client.connect()) {
      ScanArgs match = ScanArgs.Builder.matches(prefix + ":" + tenant + ":*").limit(1000);
      io.lettuce.core.KeyScanCursor<String> cursor = redis.sync().scan(match);
      for (int page = 0; page < 10_000; page++) { // bounded: a scan ends long before
        if (!cursor.getKeys().isEmpty()) {
          return true;
        }
        if (cursor.isFinished()) {
          return false;
        }
        cursor = redis.sync().scan(cursor, match);
      }
      throw new IllegalStateException("redis scan did not finish");
    } finally {
      client.shutdown();
    }
  }

  private static String sha256(byte[] blob) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(blob));
  }
}
