package org.openkcm.systemtest;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.openkcm.core.crypto.KeyWrap;
import org.openkcm.core.keystore.DevFileKeystore;
import org.openkcm.core.keystore.L1Reference;
import org.openkcm.core.seal.MasterKey;
import org.openkcm.core.seal.SealConfigEntity;
import org.openkcm.core.tenant.TenantEntity;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * Recovers, as an attacker holding the demo's whole data directory would, every key the Core used:
 * the master key (auto-unseal through the development keystore), each tenant's L2 (L1-wrapped,
 * master-sealed) and each L3 (L2-wrapped, master-sealed), from the H2 journal. Tests then search
 * their logs for these bytes.
 */
final class JournalKeys {

  private JournalKeys() {}

  /**
   * Master key, L2s and L3s found in the embedded journal of {@code dataDir} (the stack must be
   * stopped).
   */
  static List<byte[]> recover(Path dataDir) throws Exception {
    DevFileKeystore dev = new DevFileKeystore(dataDir.resolve("dev-l1"), false, Runnable::run);
    ActorTestKit kit =
        ActorTestKit.create(
            "journal-keys",
            ConfigFactory.parseResources("core/serialization.conf")
                .withFallback(ConfigFactory.parseString("pekko.actor.provider = local")));
    List<Object> events = new ArrayList<>();
    try (Connection c =
            DriverManager.getConnection(
                "jdbc:h2:file:" + dataDir.resolve("journal").resolve("openkcm").toAbsolutePath(),
                "sa",
                "");
        Statement st = c.createStatement()) {
      Serialization serialization = SerializationExtension.get(kit.system());
      ResultSet rs =
          st.executeQuery(
              "SELECT \"event_ser_id\", \"event_ser_manifest\", \"event_payload\" FROM "
                  + "\"event_journal\" ORDER BY \"ordering\"");
      while (rs.next()) {
        events.add(serialization.deserialize(rs.getBytes(3), rs.getInt(1), rs.getString(2)).get());
      }
    } finally {
      kit.shutdownTestKit();
    }
    List<byte[]> keys = new ArrayList<>();
    MasterKey master = null;
    Map<String, KeyMaterial> l2s = new java.util.HashMap<>();
    for (Object e : events) {
      if (e instanceof SealConfigEntity.Initialised init && init.config().mode().equals("auto")) {
        KeyMaterial m =
            dev.unwrap(
                    L1Reference.parse(init.config().autoL1Reference()),
                    init.config().autoWrapped(),
                    init.config().autoContext(),
                    "it")
                .toCompletableFuture()
                .join();
        keys.add(m.revealBytes());
        master = MasterKey.unsealedWith(m);
      } else if (e instanceof TenantEntity.TenantOnboarded t && master != null) {
        KeyMaterial l2 =
            dev.unwrap(
                    L1Reference.parse(t.l1Reference()),
                    master.open(t.wrappedL2(), "l2:" + t.tenantId()),
                    t.l1Context(),
                    "it")
                .toCompletableFuture()
                .join();
        keys.add(l2.revealBytes());
        l2s.put(t.tenantId(), l2);
      } else if (e instanceof TenantEntity.ServiceCreated s && master != null) {
        for (Map.Entry<String, KeyMaterial> l2 : l2s.entrySet()) {
          try {
            KeyMaterial l3 =
                KeyWrap.unwrap(
                    l2.getValue(),
                    master.open(
                        s.wrappedL3(),
                        "l3:" + l2.getKey() + ":" + s.serviceId() + ":" + s.l3Version()),
                    org.openkcm.core.tenant.KeyChain.l3Aad(
                        l2.getKey(), s.serviceId(), s.l3Version(), s.l2Version()));
            keys.add(l3.revealBytes());
          } catch (RuntimeException | java.security.GeneralSecurityException other) {
            // the service of another tenant
          }
        }
      }
    }
    if (master == null || l2s.isEmpty()) {
      throw new IllegalStateException("no master key or L2 found in the journal of " + dataDir);
    }
    return keys;
  }
}
