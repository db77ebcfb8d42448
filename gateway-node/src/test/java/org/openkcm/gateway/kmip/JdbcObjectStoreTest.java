package org.openkcm.gateway.kmip;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.DriverManager;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.gateway.store.SqlDatabase;
import org.openkcm.kmip.message.ObjectState;
import org.openkcm.kmip.message.ObjectType;
import org.openkcm.kmip.server.ManagedObject;
import org.openkcm.kmip.server.Owner;

/**
 * KMIP objects in a real PostgreSQL and in the embedded H2 file: kept across store instances, per
 * owner, dropped per tenant.
 */
class JdbcObjectStoreTest {

  private static final String URL =
      System.getenv().getOrDefault("OPENKCM_IT_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test");
  private final String schema = "okv_kmip_test_" + Long.toHexString(System.nanoTime());

  @AfterEach
  void drop() throws Exception {
    try (var c = DriverManager.getConnection(URL, "postgres", "");
        var st = c.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    }
  }

  @TempDir Path dir;

  private JdbcObjectStore store() {
    return new JdbcObjectStore(SqlDatabase.open(URL, "postgres", "", 2, "kmip-test"), schema);
  }

  private JdbcObjectStore embedded() {
    return new JdbcObjectStore(
        SqlDatabase.open("jdbc:h2:file:" + dir.resolve("kmip"), "sa", "", 2, "kmip-test"),
        "okv_kmip");
  }

  private static ManagedObject object(String uid, Owner owner, Instant created) {
    return new ManagedObject(
        uid,
        owner,
        ObjectType.SYMMETRIC_KEY,
        ObjectState.PRE_ACTIVE,
        List.of(ManagedObject.date("Initial Date", created)),
        Optional.of(new byte[] {9, 8, 7}),
        created,
        new ManagedObject.Format(1, Optional.empty()));
  }

  @Test
  void objectsOutliveTheStoreAndStayWithTheirOwner() {
    objectsOutliveTheStoreAndStayWithTheirOwner(this::store);
  }

  @Test
  void objectsOutliveTheEmbeddedStoreToo() {
    objectsOutliveTheStoreAndStayWithTheirOwner(this::embedded);
  }

  private static void objectsOutliveTheStoreAndStayWithTheirOwner(
      java.util.function.Supplier<JdbcObjectStore> store) {
    Owner acme = new Owner("acme", "billing");
    Owner other = new Owner("acme", "payroll");
    try (JdbcObjectStore s = store.get()) {
      s.put(object("a1", acme, Instant.parse("2026-12-01T10:00:00Z")));
      s.put(object("a2", acme, Instant.parse("2026-12-01T11:00:00Z")));
      s.put(object("p1", other, Instant.parse("2026-12-01T12:00:00Z")));
      s.put(object("g1", new Owner("globex", "billing"), Instant.now()));
    }
    try (JdbcObjectStore s = store.get()) {
      assertEquals(
          List.of("a2", "a1"),
          s.list(acme).stream().map(ManagedObject::uid).toList(),
          "newest first");
      assertEquals(Optional.empty(), s.get(acme, "p1"), "another service's object is absent");
      ManagedObject a1 = s.get(acme, "a1").orElseThrow();
      assertArrayEquals(new byte[] {9, 8, 7}, a1.protectedMaterial().orElseThrow());
      s.put(a1.destroyed(Instant.now()));
      assertTrue(s.get(acme, "a1").orElseThrow().protectedMaterial().isEmpty(), "material gone");
      s.dropTenant("acme");
      assertTrue(s.list(acme).isEmpty());
      assertTrue(s.list(other).isEmpty());
      assertEquals(1, s.list(new Owner("globex", "billing")).size(), "other tenants stay");
    }
  }
}
