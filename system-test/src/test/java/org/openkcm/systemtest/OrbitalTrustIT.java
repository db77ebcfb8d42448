package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.core.api.PeerIdentity;
import org.openkcm.core.keystore.DevFileKeystore;
import org.openkcm.core.tenant.LifecycleProtocol;
import org.openkcm.core.tenant.TenantEntity;
import org.openkcm.core.testing.Rpc;
import org.openkcm.node.tls.DevCa;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.NodeTls;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.orbital.Orbital;
import org.openkcm.protocol.admin.v1.AdminServiceClient;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.admin.v1.RotateKeyRequest;
import org.openkcm.protocol.admin.v1.TenantInfo;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;
import org.openkcm.protocol.orbital.v1.ApplyRequest;
import org.openkcm.protocol.orbital.v1.ApplyResponse;
import org.openkcm.protocol.orbital.v1.OrbitalServiceClient;
import org.openkcm.protocol.orbital.v1.PeerStatus;
import org.openkcm.protocol.orbital.v1.ReplicatedEvent;
import org.openkcm.protocol.orbital.v1.StatusRequest;

/**
 * Two regions under mutual TLS with per-region Core identities ({@code core/eu}, {@code core/us},
 * one development CA and trust domain): events cross and keys open in both, and every identity that
 * crosses the boundary is held to what it may do — a peer claiming another region's origin, a Core
 * of no peer region, this region's own Core, forged home writes (offboard, revive without a kill
 * id, L1 link), a duplicate onboarding and a sequence jump from a real peer, an undecodable or
 * foreign-typed payload, and the on-behalf header off the forwarded writes, from a non-peer or
 * naming a non-admin. Each is refused with nothing persisted and the tenant keeps serving.
 */
class OrbitalTrustIT {

  private static final String DOMAIN = "openkcm.local";

  private static Path dir;
  private static Path pki;
  private static DemoStack eu;
  private static DemoStack us;
  private static Orbital euOrbital;
  private static Orbital usOrbital;
  private static int euOrbitalPort;
  private static ActorTestKit kit;
  private static DataKeyServiceClient euApp;
  private static DataKeyServiceClient usApp;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("openkcm-orbital-trust");
    pki = dir.resolve("pki");
    Path l1 = dir.resolve("dev-l1");
    new DevFileKeystore(l1, false, Runnable::run).createKey("acme-root");
    euOrbitalPort = Rpc.freePort();
    int usOrbitalPort = Rpc.freePort();
    int euCore = Rpc.freePort();
    int usCore = Rpc.freePort();
    int nowhere = Rpc.freePort(); // region ap: configured at eu, never running
    eu =
        DemoStack.start(
            dir.resolve("eu"),
            "test",
            ConfigFactory.parseMap(
                region(
                    "eu",
                    euCore,
                    euOrbitalPort,
                    List.of(peer("us", usOrbitalPort, usCore), peer("ap", nowhere, nowhere)),
                    l1)),
            tls());
    euOrbital = Orbital.init(eu.core().system()).orElseThrow();
    eu.ensureTenant("acme", "devfile:acme-root", "payments");
    us =
        DemoStack.start(
            dir.resolve("us"),
            "test",
            ConfigFactory.parseMap(
                region(
                    "us", usCore, usOrbitalPort, List.of(peer("eu", euOrbitalPort, euCore)), l1)),
            tls());
    usOrbital = Orbital.init(us.core().system()).orElseThrow();
    kit =
        ActorTestKit.create(
            "orbital-trust-client", ConfigFactory.parseString("pekko.actor.provider = local"));
    MutualTls app = identity("app/acme/payments");
    euApp = app(eu, app);
    usApp = app(us, app);
  }

  private static Map<String, Object> region(
      String name, int core, int orbital, List<Map<String, Object>> peers, Path l1) {
    Map<String, Object> c = new HashMap<>();
    c.put("openkcm.tls.enabled", true);
    c.put("openkcm.tls.dir", pki.toString());
    c.put("openkcm.tls.name", name); // spiffe://openkcm.local/core/<region>
    c.put("openkcm.core.region", name);
    c.put("openkcm.core.grpc.port", core);
    c.put("openkcm.orbital.enabled", true);
    c.put("openkcm.orbital.port", orbital);
    c.put("openkcm.orbital.min-backoff", "200ms");
    c.put("openkcm.orbital.max-backoff", "1s");
    c.put("openkcm.orbital.peers", peers);
    c.put("openkcm.core.keystore.devfile.directory", l1.toString());
    return c;
  }

  private static Map<String, Object> peer(String name, int orbital, int core) {
    return Map.of("name", name, "host", "127.0.0.1", "port", orbital, "core", "127.0.0.1:" + core);
  }

  private static com.typesafe.config.Config tls() {
    return ConfigFactory.parseMap(
        Map.of("openkcm.tls.enabled", true, "openkcm.tls.dir", pki.toString()));
  }

  /** A certificate of the development CA for {@code id} ({@code kind/name...}). */
  private static MutualTls identity(String id) {
    String base = "it-" + id.replace('/', '-');
    DevCa.loadOrCreate(pki, DOMAIN)
        .issue(
            SpiffeId.parse("spiffe://" + DOMAIN + "/" + id),
            Duration.ofDays(1),
            pki.resolve(base + ".crt"),
            pki.resolve(base + ".key"));
    return MutualTls.load(
        new MutualTls.Settings(
            pki.resolve(base + ".crt"),
            pki.resolve(base + ".key"),
            pki.resolve(DevCa.CA_CERT),
            DOMAIN,
            List.of("TLSv1.3"),
            Duration.ofSeconds(30)));
  }

  private static GrpcClientSettings to(int port, MutualTls as, String serverKind) {
    return NodeTls.client(
        GrpcClientSettings.connectToServiceAt("127.0.0.1", port, kit.system())
            .withDeadline(Duration.ofSeconds(20)),
        Optional.of(as),
        Set.of(serverKind));
  }

  private static DataKeyServiceClient app(DemoStack region, MutualTls as) {
    return DataKeyServiceClient.create(
        to(region.gateway().grpcAddress().getPort(), as, "gateway"), kit.system());
  }

  @AfterAll
  static void stop() throws Exception {
    for (AutoCloseable c : new AutoCloseable[] {euOrbital, usOrbital, us, eu}) {
      if (c != null) {
        c.close();
      }
    }
    if (kit != null) {
      kit.shutdownTestKit();
    }
  }

  // ---------------------------------------------------------------- the happy path, under mTLS

  @Test
  void eventsCrossBetweenRegionIdentitiesAndAKeyMadeInOneOpensInTheOther() {
    eventually(() -> tenant(us));
    GenerateDataKeyResponse made = generate(euApp, "t-1");
    // (another test may have rotated at home just before: the new version reaches us shortly)
    eventually(
        () -> {
          assertArrayEquals(made.getPlaintext().toByteArray(), decrypt(usApp, made, "t-1"));
          return null;
        });
    PeerStatus fromUs = status(euOrbitalPort, identity("admin/cli"), "us");
    assertTrue(fromUs.getConnected(), fromUs.toString());
  }

  // ---------------------------------------------------------------- who delivers

  @Test
  void aPeerClaimingAnotherRegionsOriginIsRefused() {
    // a Core of region us delivering as region ap (a configured peer of eu) or as an unknown one
    for (String claimed : List.of("ap", "xx")) {
      OpenKcmException e =
          assertThrows(
              OpenKcmException.class,
              () -> deliver(identity("core/us"), claimed, kill("acme", 1, "forged")));
      assertEquals(ErrorReason.PERMISSION_DENIED, e.reason(), e.getMessage());
    }
    assertServes();
  }

  @Test
  void aCoreOfNoPeerRegionOrOfThisRegionMayNotDeliverAsAPeer() {
    for (String caller : List.of("core/core", "core/ap-rogue", "core/eu", "admin/cli")) {
      OpenKcmException e =
          assertThrows(
              OpenKcmException.class,
              () -> deliver(identity(caller), "us", kill("acme", 1, "forged")),
              caller);
      assertEquals(ErrorReason.PERMISSION_DENIED, e.reason(), caller + ": " + e.getMessage());
    }
    assertServes();
  }

  // ---------------------------------------------------------------- what a real peer may say

  @Test
  void forgedHomeWritesADuplicateOnboardingAndASequenceJumpFromARealPeerAreRefused() {
    eventually(() -> tenant(us));
    long refusedBefore = status(euOrbitalPort, identity("admin/cli"), "us").getRefusedFromPeer();
    Instant now = Instant.now();
    ApplyResponse r =
        deliver(
            identity("core/us"),
            "us",
            event(
                "acme",
                1,
                new LifecycleProtocol.TenantOffboarded(
                    "acme", "forged", "us-officer", now, "c", List.of())),
            event("acme", 2, new TenantEntity.TenantRevived("us", now, "c", "")),
            event(
                "acme",
                3,
                new TenantEntity.L1Linked(
                    "devfile:other-root", new byte[48], Map.of(), now, "c", "a", "b")),
            event(
                "acme",
                4,
                new TenantEntity.TenantOnboarded(
                    "acme", "devfile:acme-root", 1, new byte[48], Map.of(), now, "c")),
            // a kill from any region is admissible, but not numbered 2^63-1
            kill("acme", Long.MAX_VALUE, "jump"));
    assertEquals(0, r.getApplied(), r.toString());
    assertEquals(5, r.getRefused(), r.toString());
    PeerStatus fromUs = status(euOrbitalPort, identity("admin/cli"), "us");
    assertEquals(refusedBefore + 5, fromUs.getRefusedFromPeer());
    assertTrue(fromUs.getLastRefusal().contains("SEQUENCE_JUMP"), fromUs.getLastRefusal());
    // each refusal parked for the operator, with its tenant, number, event and reason
    List<String> parked =
        fromUs
            .getRecentRefusalsList()
            .subList(fromUs.getRecentRefusalsCount() - 5, fromUs.getRecentRefusalsCount());
    assertTrue(
        parked.get(0).contains("acme #1 TenantOffboarded: NOT_FROM_HOME"), parked.toString());
    assertTrue(parked.get(1).contains("#2 TenantRevived: NOT_FROM_HOME"), parked.toString());
    assertTrue(
        parked.get(3).contains("#4 TenantOnboarded: ONBOARDING_CONFLICT"), parked.toString());
    assertTrue(parked.get(4).contains("TenantKilled: SEQUENCE_JUMP"), parked.toString());
    // and the alert's metric counts them
    String scrape = scrape(eu);
    assertTrue(
        scrape.contains("openkcm_replication_refused_events{peer=\"us\"} " + (refusedBefore + 5)),
        scrape.lines().filter(l -> l.contains("refused")).toList().toString());
    TenantInfo acme = tenant(eu);
    assertEquals("", acme.getHomeRegion(), "still eu's own tenant");
    assertServes();
  }

  @Test
  void aPayloadOfAnotherTypeOrSerializerIsRefusedBeforeItIsDecoded() {
    ReplicatedEvent typed =
        event("acme", 1, new TenantEntity.TenantRevived("us", Instant.now(), "c", "k"));
    for (ReplicatedEvent bad :
        List.of(
            typed.toBuilder().setManifest("java.lang.ProcessBuilder").build(),
            typed.toBuilder().setManifest("no.such.Type").build(),
            typed.toBuilder().setSerializerId(typed.getSerializerId() + 1).build())) {
      OpenKcmException e =
          assertThrows(OpenKcmException.class, () -> deliver(identity("core/us"), "us", bad));
      assertEquals(ErrorReason.INVALID_ARGUMENT, e.reason(), e.getMessage());
      assertTrue(
          e.getMessage().matches(".*(is not accepted|unknown event type|not a Event).*"),
          "refused before decoding: " + e.getMessage());
    }
    assertServes();
  }

  @Test
  void aKillSwitchReleaseFromAPeerLiftsOnlyTheEngagementItNames() {
    org.openkcm.protocol.admin.v1.KillSwitchRequest ap =
        org.openkcm.protocol.admin.v1.KillSwitchRequest.newBuilder()
            .setScope("region:ap")
            .setReason("it")
            .build();
    eu.admin(a -> a.engageKillSwitch(ap));
    try {
      Instant now = Instant.now();
      ApplyResponse r =
          deliver(
              identity("core/us"),
              "us",
              event(
                  "",
                  1,
                  new org.openkcm.core.killswitch.KillSwitchEntity.Released(
                      "region:ap", "us", now, List.of())),
              event(
                  "",
                  2,
                  new org.openkcm.core.killswitch.KillSwitchEntity.Released(
                      "region:ap", "us", now, List.of("us/not-that-one"))));
      assertEquals(1, r.getRefused(), "a release naming no engagement: " + r);
      assertEquals(1, r.getApplied(), "a release naming another engagement: recorded ... " + r);
      assertTrue(
          eu.admin(a -> a.getKillSwitch(ap)).getEngagedList().stream()
              .anyMatch(k -> k.getScope().equals("region:ap")),
          "... and neither lifted eu's engagement");
    } finally {
      eu.admin(a -> a.releaseKillSwitch(ap));
    }
    assertTrue(eu.admin(a -> a.getKillSwitch(ap)).getEngagedList().isEmpty());
  }

  // ---------------------------------------------------------------- on behalf of an operator

  @Test
  void aReplicaForwardsARotationHomeOnBehalfOfItsOperator() {
    eventually(() -> tenant(us));
    long before = tenant(eu).getServices(0).getL3Version();
    TenantInfo rotated =
        us.admin(
            a ->
                a.rotateServiceKey(
                    RotateKeyRequest.newBuilder()
                        .setTenantId("acme")
                        .setServiceId("payments")
                        .setRequestedBy("it")
                        .build()));
    assertEquals(before + 1, rotated.getServices(0).getL3Version(), "made at home");
  }

  @Test
  void theOnBehalfHeaderIsBelievedOnlyOnForwardedWritesFromAPeerRegionsCoreNamingAnAdmin() {
    String cli = "spiffe://" + DOMAIN + "/admin/cli";
    KillTenantRequest kill =
        KillTenantRequest.newBuilder().setTenantId("acme").setReason("forged").build();
    // a peer's Core acting as the security officer on a write that is never forwarded
    assertDenied(asCore("core/us", cli, a -> a.killTenant(), kill));
    // this region's own Core, or a Core of no peer region, on a forwarded write
    CreateServiceRequest create =
        CreateServiceRequest.newBuilder().setTenantId("acme").setServiceId("forged").build();
    for (String core : List.of("core/eu", "core/ap-rogue")) {
      assertDenied(asCore(core, cli, a -> a.createService(), create));
    }
    // a peer's Core naming a gateway or an app instead of an operator
    for (String who : List.of("gateway/gateway", "app/acme/payments")) {
      assertDenied(
          asCore("core/us", "spiffe://" + DOMAIN + "/" + who, a -> a.createService(), create));
    }
    assertTrue(
        tenant(eu).getServicesList().stream().noneMatch(s -> s.getServiceId().equals("forged")),
        "no service was created");
    assertServes();
  }

  // ---------------------------------------------------------------- plumbing

  private interface Call<I, O> {
    org.apache.pekko.grpc.javadsl.SingleResponseRequestBuilder<I, O> builder(AdminServiceClient a);
  }

  /** An admin call to eu's Core as {@code core}, naming {@code operator} as the one acting. */
  private static <I, O> Runnable asCore(String core, String operator, Call<I, O> call, I request) {
    return () -> {
      AdminServiceClient admin =
          AdminServiceClient.create(
              to(eu.core().grpcAddress().getPort(), identity(core), "core"), kit.system());
      try {
        call.builder(admin)
            .addHeader(PeerIdentity.ON_BEHALF, operator)
            .invoke(request)
            .toCompletableFuture()
            .get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw GrpcErrors.fromGrpc(e);
      } finally {
        admin.close();
      }
    };
  }

  private static void assertDenied(Runnable call) {
    OpenKcmException e = assertThrows(OpenKcmException.class, call::run);
    assertEquals(ErrorReason.PERMISSION_DENIED, e.reason(), e.getMessage());
  }

  /** The Prometheus text of {@code region}'s Core management listener. */
  private static String scrape(DemoStack region) {
    java.net.URI base =
        org.openkcm.node.health.NodeHealth.get(region.core().system()).management().orElseThrow();
    try {
      return java.net.http.HttpClient.newHttpClient()
          .send(
              java.net.http.HttpRequest.newBuilder(base.resolve("/metrics")).build(),
              java.net.http.HttpResponse.BodyHandlers.ofString())
          .body();
    } catch (Exception e) {
      throw new AssertionError("no metrics at " + base, e);
    }
  }

  /** The tenant still serves at home: nothing forged took effect. */
  private static void assertServes() {
    GenerateDataKeyResponse made = generate(euApp, "serves");
    assertArrayEquals(made.getPlaintext().toByteArray(), decrypt(euApp, made, "serves"));
  }

  private static ReplicatedEvent kill(String tenant, long seq, String reason) {
    return event(
        tenant, seq, new TenantEntity.TenantKilled(reason, "us", Instant.now(), "c", "us/k"));
  }

  /** {@code event} as a peer ships it (the Core's serialization). */
  private static ReplicatedEvent event(String tenant, long seq, Object event) {
    Serialization serialization = SerializationExtension.get(Adapter.toClassic(eu.core().system()));
    Serializer serializer = serialization.findSerializerFor(event);
    return ReplicatedEvent.newBuilder()
        .setTenantId(tenant)
        .setSequenceNr(seq)
        .setTimestampMillis(System.currentTimeMillis())
        .setSerializerId(serializer.identifier())
        .setManifest(Serializers.manifestFor(serializer, event))
        .setPayload(ByteString.copyFrom(serialization.serialize(event).get()))
        .build();
  }

  /** Events delivered to eu's Orbital as region {@code origin} by {@code caller}. */
  private static ApplyResponse deliver(MutualTls caller, String origin, ReplicatedEvent... events) {
    OrbitalServiceClient client =
        OrbitalServiceClient.create(to(euOrbitalPort, caller, "core"), kit.system());
    try {
      return client
          .apply(
              ApplyRequest.newBuilder()
                  .setOriginRegion(origin)
                  .addAllEvents(List.of(events))
                  .build())
          .toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw GrpcErrors.fromGrpc(e);
    } finally {
      client.close();
    }
  }

  private static PeerStatus status(int orbitalPort, MutualTls as, String peer) {
    OrbitalServiceClient client =
        OrbitalServiceClient.create(to(orbitalPort, as, "core"), kit.system());
    try {
      return client
          .status(StatusRequest.getDefaultInstance())
          .toCompletableFuture()
          .get(30, TimeUnit.SECONDS)
          .getPeersList()
          .stream()
          .filter(p -> p.getPeer().equals(peer))
          .findFirst()
          .orElseThrow();
    } catch (Exception e) {
      throw GrpcErrors.fromGrpc(e);
    } finally {
      client.close();
    }
  }

  private static TenantInfo tenant(DemoStack region) {
    return region.admin(
        a -> a.getTenant(GetTenantRequest.newBuilder().setTenantId("acme").build()));
  }

  private static <T> T eventually(java.util.concurrent.Callable<T> check) {
    return Eventually.holds(kit, Duration.ofSeconds(30), check);
  }

  private static GenerateDataKeyResponse generate(DataKeyServiceClient app, String order) {
    return Rpc.await(
        app.generateDataKey(
            GenerateDataKeyRequest.newBuilder()
                .setTenantId("acme")
                .setServiceId("payments")
                .putContext("order", order)
                .build()));
  }

  private static byte[] decrypt(
      DataKeyServiceClient app, GenerateDataKeyResponse key, String order) {
    return Rpc.await(
            app.decrypt(
                DecryptRequest.newBuilder()
                    .setTenantId("acme")
                    .setEnvelope(key.getEnvelope())
                    .putContext("order", order)
                    .build()))
        .getPlaintext()
        .toByteArray();
  }
}
