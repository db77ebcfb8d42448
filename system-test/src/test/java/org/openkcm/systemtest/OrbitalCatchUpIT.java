package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.openkcm.core.testing.PostgresSchema;
import org.openkcm.core.testing.Rpc;
import org.openkcm.orbital.Orbital;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.RotateKeyRequest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;
import org.openkcm.protocol.orbital.v1.PeerStatus;
import org.openkcm.protocol.orbital.v1.ReplayReply;
import org.openkcm.protocol.orbital.v1.ReplayRequest;
import org.openkcm.protocol.orbital.v1.StatusRequest;

/**
 * No event lost: an event of the home region that its outbox never ships reaches the other region
 * all the same. The lost event is made real: a trigger in eu's journal drops the outbox's tag row
 * of one {@code ServiceCreated} (what pekko-persistence-jdbc's tag query does when it skips a row
 * under concurrent writes, or a database writer deleting the row), so eu's outbox never reads it.
 * The next event eu ships names it as its previous one; us, which never applied it, asks eu for it
 * ({@code Replay}, read from eu's journal) and applies it before the next. Both regions on
 * PostgreSQL under mutual TLS; Replay is refused to whoever is not a peer's Core.
 */
class OrbitalCatchUpIT {

  private static final String TENANT = "gap";

  @Test
  void anEventTheOutboxNeverShippedIsFetchedFromTheOriginBeforeTheNextOne() throws Exception {
    Path sharedL1 = Files.createTempDirectory("openkcm-catch-up-l1");
    int euPort = Rpc.freePort();
    int usPort = Rpc.freePort();
    try (PgStack eu =
            PgStack.start(
                "c-eu", OrbitalRegions.pair("eu", euPort, "us", usPort, sharedL1), Map.of());
        PgStack us =
            PgStack.start(
                "c-us", OrbitalRegions.pair("us", usPort, "eu", euPort, sharedL1), Map.of());
        Orbital euOrbital = Orbital.init(eu.core().system()).orElseThrow();
        Orbital usOrbital = Orbital.init(us.core().system()).orElseThrow()) {
      eu.admin(
          a ->
              a.createTenant(
                  CreateTenantRequest.newBuilder()
                      .setTenantId(TENANT)
                      .setL1Reference("devfile:gap-root")
                      .build()));
      createService(eu, "payments");
      GenerateDataKeyResponse first = generate(eu, "payments");
      eventually(us, () -> decrypt(us, first));

      // eu's outbox never sees the next service's creation: its tag row is dropped as it is written
      String schema = schemaOf(eu.db);
      loseTagsOfServiceCreations(eu.db, schema, true);
      createService(eu, "ledger");
      loseTagsOfServiceCreations(eu.db, schema, false);
      try (Connection c = DriverManager.getConnection(eu.db.url(), PostgresSchema.USER, "");
          Statement st = c.createStatement()) {
        var rs =
            st.executeQuery(
                ("SELECT count(*) FROM %1$s.event_tag t JOIN %1$s.event_journal j"
                        + " ON j.ordering = t.event_id WHERE j.persistence_id = 'Tenant|%2$s'"
                        + " AND j.event_ser_manifest LIKE '%%$ServiceCreated'")
                    .formatted(schema, TENANT));
        rs.next();
        assertEquals(1, rs.getInt(1), "only payments' creation is tagged for the outbox");
      }
      GenerateDataKeyResponse ledgerKey = generate(eu, "ledger");

      // the next event eu ships names the lost one as its previous: us catches up first
      rotate(eu, "payments");
      GenerateDataKeyResponse second = generate(eu, "payments");
      eventually(us, () -> decrypt(us, second)); // v2 of payments arrived
      assertArrayEquals(
          ledgerKey.getPlaintext().toByteArray(),
          decrypt(us, "ledger", ledgerKey),
          "ledger reached us");
      PeerStatus fromEu = statusFromEu(us, usPort);
      assertEquals(1, fromEu.getGapsFromPeer(), fromEu.toString());
      assertEquals(1, fromEu.getCaughtUpFromPeer(), fromEu.toString());
      assertEquals(0, fromEu.getUnrecoverableGapsFromPeer(), fromEu.toString());

      // Replay answers a peer's Core only, for a sane range
      ReplayRequest.Builder ask =
          ReplayRequest.newBuilder()
              .setRequestingRegion("us")
              .setTenantId(TENANT)
              .setAfterSequenceNr(0)
              .setBeforeSequenceNr(1_000);
      ReplayReply all = eu.orbital(euPort, eu.identity("core", "us"), o -> o.replay(ask.build()));
      assertTrue(
          all.getEventsList().stream().anyMatch(e -> e.getManifest().endsWith("$ServiceCreated")),
          all.getEventsList().stream().map(e -> e.getManifest()).toList().toString());
      assertTrue(!all.getTruncated() && !all.getMore(), all.toString());
      for (var caller : List.of(List.of("admin", "cli"), List.of("core", "eu"))) {
        OpenKcmException e =
            assertThrows(
                OpenKcmException.class,
                () ->
                    eu.orbital(
                        euPort,
                        eu.identity(caller.toArray(String[]::new)),
                        o -> o.replay(ask.build())));
        assertEquals(ErrorReason.PERMISSION_DENIED, e.reason(), caller + ": " + e.getMessage());
      }
      OpenKcmException notAPeer =
          assertThrows(
              OpenKcmException.class,
              () ->
                  eu.orbital(
                      euPort,
                      eu.identity("core", "us"),
                      o -> o.replay(ask.setRequestingRegion("ap").build())));
      assertEquals(ErrorReason.PERMISSION_DENIED, notAPeer.reason(), notAPeer.getMessage());
      OpenKcmException backwards =
          assertThrows(
              OpenKcmException.class,
              () ->
                  eu.orbital(
                      euPort,
                      eu.identity("core", "us"),
                      o ->
                          o.replay(
                              ask.setRequestingRegion("us")
                                  .setAfterSequenceNr(9)
                                  .setBeforeSequenceNr(3)
                                  .build())));
      assertEquals(ErrorReason.INVALID_ARGUMENT, backwards.reason(), backwards.getMessage());

      // a gap some of whose events the origin no longer has (its history up to them deleted, as
      // the purge behind a destroying event does): audit's creation is gone, archive's is left;
      // counted and alerted as unrecoverable, and what remains is applied
      loseTagsOfServiceCreations(eu.db, schema, true);
      createService(eu, "audit");
      long audit =
          eu.db.events("Tenant|" + TENANT).stream()
              .mapToLong(e -> e.sequenceNr())
              .max()
              .orElseThrow();
      createService(eu, "archive");
      loseTagsOfServiceCreations(eu.db, schema, false);
      try (Connection c = DriverManager.getConnection(eu.db.url(), PostgresSchema.USER, "");
          Statement st = c.createStatement()) {
        st.execute(
            "DELETE FROM %s.event_journal WHERE persistence_id = 'Tenant|%s' AND sequence_number <= %d"
                .formatted(schema, TENANT, audit));
      }
      ReplayReply purged =
          eu.orbital(
              euPort,
              eu.identity("core", "us"),
              o -> o.replay(ask.setAfterSequenceNr(0).setBeforeSequenceNr(1_000).build()));
      assertTrue(purged.getTruncated(), purged.toString());
      rotate(eu, "payments");
      GenerateDataKeyResponse third = generate(eu, "payments");
      eventually(us, () -> decrypt(us, third)); // v3 applied after the unrecoverable gap
      GenerateDataKeyResponse archived = generate(eu, "archive");
      assertArrayEquals(
          archived.getPlaintext().toByteArray(),
          decrypt(us, "archive", archived),
          "what remained of the gap was applied");
      PeerStatus after = statusFromEu(us, usPort);
      assertEquals(1, after.getUnrecoverableGapsFromPeer(), after.toString());
      assertEquals(2, after.getCaughtUpFromPeer(), after.toString());
    }
  }

  /** Installs (or removes) a trigger in eu's journal that drops the tag of service creations. */
  private static void loseTagsOfServiceCreations(PostgresSchema db, String schema, boolean on)
      throws Exception {
    try (Connection c = DriverManager.getConnection(db.url(), PostgresSchema.USER, "");
        Statement st = c.createStatement()) {
      if (!on) {
        st.execute("DROP TRIGGER lose_tag ON " + schema + ".event_tag");
        return;
      }
      st.execute(
          ("CREATE OR REPLACE FUNCTION %1$s.lose_tag() RETURNS trigger AS $$ BEGIN"
                  + " IF EXISTS (SELECT 1 FROM %1$s.event_journal j WHERE j.ordering ="
                  + " NEW.event_id AND j.persistence_id = 'Tenant|%2$s'"
                  + " AND j.event_ser_manifest LIKE '%%$ServiceCreated') THEN RETURN NULL; END IF;"
                  + " RETURN NEW; END $$ LANGUAGE plpgsql")
              .formatted(schema, TENANT));
      st.execute(
          ("CREATE TRIGGER lose_tag BEFORE INSERT ON %1$s.event_tag FOR EACH ROW"
                  + " EXECUTE FUNCTION %1$s.lose_tag()")
              .formatted(schema));
    }
  }

  private static PeerStatus statusFromEu(PgStack us, int usPort) {
    return us
        .orbital(
            usPort, us.identity("admin", "cli"), o -> o.status(StatusRequest.getDefaultInstance()))
        .getPeersList()
        .stream()
        .filter(p -> p.getPeer().equals("eu"))
        .findFirst()
        .orElseThrow();
  }

  private static void rotate(PgStack region, String service) {
    region.admin(
        a ->
            a.rotateServiceKey(
                RotateKeyRequest.newBuilder()
                    .setTenantId(TENANT)
                    .setServiceId(service)
                    .setRequestedBy("it")
                    .build()));
  }

  private static void createService(PgStack region, String service) {
    region.admin(
        a ->
            a.createService(
                CreateServiceRequest.newBuilder()
                    .setTenantId(TENANT)
                    .setServiceId(service)
                    .build()));
  }

  private static String schemaOf(PostgresSchema db) {
    String url = db.url();
    return url.substring(url.indexOf("currentSchema=") + "currentSchema=".length());
  }

  private static GenerateDataKeyResponse generate(PgStack region, String service) {
    return await(
        region
            .app(TENANT, service)
            .generateDataKey(
                GenerateDataKeyRequest.newBuilder()
                    .setTenantId(TENANT)
                    .setServiceId(service)
                    .build()));
  }

  private static byte[] decrypt(PgStack region, GenerateDataKeyResponse key) {
    return decrypt(region, "payments", key);
  }

  private static byte[] decrypt(PgStack region, String service, GenerateDataKeyResponse key) {
    return await(
            region
                .app(TENANT, service)
                .decrypt(
                    DecryptRequest.newBuilder()
                        .setTenantId(TENANT)
                        .setEnvelope(key.getEnvelope())
                        .build()))
        .getPlaintext()
        .toByteArray();
  }

  private static <T> T eventually(PgStack region, Callable<T> check) {
    return Eventually.holds(region.client, Duration.ofSeconds(30), check);
  }
}
