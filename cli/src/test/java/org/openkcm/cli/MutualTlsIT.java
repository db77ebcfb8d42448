package org.openkcm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.core.testing.Rpc;
import org.openkcm.node.tls.DevCa;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.NodeTls;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.admin.v1.AdminServiceClient;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.core.v1.CoreKeyServiceClient;
import org.openkcm.protocol.core.v1.WrapItem;
import org.openkcm.protocol.core.v1.WrapKeysRequest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;
import org.openkcm.systemtest.DemoStack;
import org.slf4j.LoggerFactory;

/**
 * The demo stack with mutual TLS on (development CA in the data dir): applications, the gateway's
 * calls to the Core and the CLI all present certificates over real TLS 1.3 sockets on loopback;
 * clients without one, from another CA, expired or of the wrong kind are refused; a trust bundle
 * change is picked up live.
 */
class MutualTlsIT {

  private static Config tlsOn;
  private static final String DOMAIN = "openkcm.local";
  private static final GenerateDataKeyRequest GEN =
      GenerateDataKeyRequest.newBuilder()
          .setTenantId("acme")
          .setServiceId("payments")
          .putContext("order", "42")
          .build();

  private static Path dir;
  private static Path pki;
  private static DemoStack stack;
  private static ActorTestKit kit;
  private static ListAppender<ILoggingEvent> audit;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("openkcm-mtls");
    pki = dir.resolve("pki");
    // the shipped policies; gateway "gw-a" is assigned tenant acme only
    tlsOn =
        ConfigFactory.parseMap(
            Map.of(
                "openkcm.tls.enabled",
                true,
                "openkcm.tls.reload-check",
                "100ms",
                "openkcm.authz.assignments.gateways.gw-a",
                List.of("acme"),
                // every gateway->Core key call of this class goes over the Core's Netty key
                // listener
                "openkcm.core.grpc.keys.enabled",
                true));
    audit = new ListAppender<>();
    audit.start();
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("org.openkcm.audit"))
        .addAppender(audit);
    stack = DemoStack.start(dir, "test", tlsOn, tlsOn);
    stack.ensureTenant("acme", "devfile:acme-root", "payments");
    Endpoints.now(
            hostPort(stack.core().grpcAddress()),
            hostPort(stack.gateway().grpcAddress()),
            "test",
            dir,
            Optional.of(pki))
        .write(dir);
    kit = ActorTestKit.create("mtls-client");
  }

  @AfterAll
  static void stop() {
    ((ch.qos.logback.classic.Logger) LoggerFactory.getLogger("org.openkcm.audit"))
        .detachAppender(audit);
    kit.shutdownTestKit();
    stack.close();
  }

  /**
   * Files {@code base}.crt/.key for {@code id} issued by {@code ca} under the temp dir; TLS
   * material trusting our CA.
   */
  private static MutualTls identity(
      DevCa ca, String base, String id, Instant notBefore, Instant notAfter) {
    Path d = dir.resolve("clients");
    ca.issue(
        SpiffeId.parse(id),
        notBefore,
        notAfter,
        d.resolve(base + ".crt"),
        d.resolve(base + ".key"));
    return MutualTls.load(
        new MutualTls.Settings(
            d.resolve(base + ".crt"),
            d.resolve(base + ".key"),
            pki.resolve(DevCa.CA_CERT),
            DOMAIN,
            List.of("TLSv1.3"),
            Duration.ofSeconds(1)));
  }

  private static MutualTls identity(DevCa ca, String base, String id) {
    return identity(
        ca, base, id, Instant.now().minusSeconds(60), Instant.now().plus(Duration.ofDays(1)));
  }

  private static DevCa ourCa() {
    return DevCa.loadOrCreate(pki, DOMAIN);
  }

  private static <T> T gateway(
      GrpcClientSettings settings,
      Function<DataKeyServiceClient, java.util.concurrent.CompletionStage<T>> call) {
    DataKeyServiceClient client = DataKeyServiceClient.create(settings, kit.system());
    try {
      return Rpc.await(call.apply(client));
    } finally {
      client.close();
    }
  }

  private static GrpcClientSettings toGateway() {
    return GrpcClientSettings.connectToServiceAt(
            "127.0.0.1", stack.gateway().grpcAddress().getPort(), kit.system())
        .withDeadline(Duration.ofSeconds(10))
        .withConnectionAttempts(2);
  }

  private static GrpcClientSettings as(MutualTls who) {
    return NodeTls.client(toGateway(), Optional.of(who), Set.of("gateway"));
  }

  @Test
  void theCoresKeyListenerCarriesTheGatewaysCallsAndJudgesEveryCaller() throws Exception {
    int keyPort = stack.core().keyAddress().orElseThrow().getPort();
    assertEquals(
        List.of(new org.openkcm.gateway.corelink.CoreLink.Endpoint("127.0.0.1", keyPort)),
        stack.gateway().wiring().settings().core().keyEndpoints(),
        "the gateway sends its key calls to the key listener");
    org.openkcm.protocol.core.v1.WrapKeysRequest wrap =
        org.openkcm.protocol.core.v1.WrapKeysRequest.newBuilder()
            .setTenantId("acme")
            .setServiceId("payments")
            .addItems(
                org.openkcm.protocol.core.v1.WrapItem.newBuilder()
                    .setPlaintext(com.google.protobuf.ByteString.copyFrom(new byte[32])))
            .build();
    GrpcClientSettings toKeys =
        GrpcClientSettings.connectToServiceAt("127.0.0.1", keyPort, kit.system())
            .withDeadline(Duration.ofSeconds(10))
            .withConnectionAttempts(2);
    // an operator's identity may open a connection to the Core, but not wrap a tenant's keys
    MutualTls operator = stack.clientTls().orElseThrow();
    org.openkcm.protocol.core.v1.CoreKeyServiceClient asOperator =
        org.openkcm.protocol.core.v1.CoreKeyServiceClient.create(
            NodeTls.client(toKeys, Optional.of(operator), Set.of("core")), kit.system());
    try {
      assertEquals(
          org.openkcm.protocol.error.ErrorReason.PERMISSION_DENIED,
          org.junit.jupiter.api.Assertions.assertThrows(
                  org.openkcm.protocol.error.OpenKcmException.class,
                  () -> Rpc.await(asOperator.wrapKeys(wrap)))
              .reason());
    } finally {
      asOperator.close();
    }
    // an application's certificate does not even complete the handshake
    MutualTls app = identity(ourCa(), "app-keys", "spiffe://" + DOMAIN + "/app/acme/payments");
    org.openkcm.protocol.core.v1.CoreKeyServiceClient asApp =
        org.openkcm.protocol.core.v1.CoreKeyServiceClient.create(
            NodeTls.client(toKeys, Optional.of(app), Set.of("core")), kit.system());
    try {
      // refused by the TLS handshake (the connection never opens: UNAVAILABLE), not by the policy
      assertEquals(
          org.openkcm.protocol.error.ErrorReason.CORE_UNAVAILABLE,
          org.junit.jupiter.api.Assertions.assertThrows(
                  org.openkcm.protocol.error.OpenKcmException.class,
                  () -> Rpc.await(asApp.wrapKeys(wrap)))
              .reason());
    } finally {
      asApp.close();
    }
  }

  @Test
  void anApplicationWithACertificateGetsAndOpensDataKeysThroughTheMutuallyAuthenticatedChain() {
    MutualTls app = identity(ourCa(), "app", "spiffe://" + DOMAIN + "/app/acme/payments");
    GenerateDataKeyResponse dek = gateway(as(app), c -> c.generateDataKey(GEN));
    assertEquals(32, dek.getPlaintext().size());
    var opened =
        gateway(
            as(app),
            c ->
                c.decrypt(
                    DecryptRequest.newBuilder()
                        .setTenantId("acme")
                        .setEnvelope(dek.getEnvelope())
                        .putContext("order", "42")
                        .build()));
    assertEquals(dek.getPlaintext(), opened.getPlaintext());
    // one record per key request at the Core, naming the gateway that asked
    assertAudited(
        "keys.unwrap",
        "tenant",
        "acme",
        "caller",
        "spiffe://" + DOMAIN + "/gateway/gateway",
        "outcome",
        "ok");
  }

  @Test
  void theCliUsesTheDemosClientCertificateAndPlaintextIsRefused() throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit =
        Cli.run(
            new String[] {
              "datakey",
              "generate",
              "--tenant",
              "acme",
              "--service",
              "payments",
              "--data-dir",
              dir.toString()
            },
            new PrintWriter(out, true),
            new PrintWriter(err, true));
    assertEquals(0, exit, err.toString());
    assertEquals(
        32,
        java.util.Base64.getDecoder()
            .decode(new ObjectMapper().readTree(out.toString()).get("plaintext").asText())
            .length);

    String envelope = new ObjectMapper().readTree(out.toString()).get("envelope").asText();
    StringWriter opened = new StringWriter();
    exit =
        Cli.run(
            new String[] {
              "datakey",
              "decrypt",
              "--tenant",
              "acme",
              "--envelope",
              envelope,
              "--data-dir",
              dir.toString()
            },
            new PrintWriter(opened, true),
            new PrintWriter(err, true));
    assertEquals(0, exit, "the CLI opens as the envelope's application: " + err);
    exit =
        Cli.run(
            new String[] {
              "admin", "tenant", "show", "--tenant", "acme", "--data-dir", dir.toString()
            },
            new PrintWriter(out, true),
            new PrintWriter(err, true));
    assertEquals(0, exit, err.toString());

    StringWriter refused = new StringWriter();
    exit =
        Cli.run(
            new String[] {
              "datakey",
              "generate",
              "--tenant",
              "acme",
              "--service",
              "payments",
              "--timeout",
              "5s",
              "--gateway",
              hostPort(stack.gateway().grpcAddress())
            },
            new PrintWriter(new StringWriter(), true),
            new PrintWriter(refused, true));
    assertEquals(1, exit);
    assertTrue(refused.toString().startsWith("error: "), refused.toString());
    assertTrue(refused.toString().contains("--tls-dir"), "says what to do: " + refused);
  }

  @Test
  void pkiIssueGivesAWorkingApplicationCertificateAndBenchRunsOverMutualTls() throws Exception {
    Path out = dir.resolve("issued");
    StringWriter json = new StringWriter();
    StringWriter err = new StringWriter();
    int exit =
        Cli.run(
            new String[] {
              "pki",
              "issue",
              "--id",
              "spiffe://" + DOMAIN + "/app/acme/payments",
              "--out",
              out.toString(),
              "--data-dir",
              dir.toString(),
              "--days",
              "1"
            },
            new PrintWriter(json, true),
            new PrintWriter(err, true));
    assertEquals(0, exit, err.toString());
    assertEquals(
        out.resolve("payments.crt").toAbsolutePath().toString(),
        new ObjectMapper().readTree(json.toString()).get("cert").asText());
    MutualTls issued =
        MutualTls.load(
            new MutualTls.Settings(
                out.resolve("payments.crt"),
                out.resolve("payments.key"),
                pki.resolve(DevCa.CA_CERT),
                DOMAIN,
                List.of("TLSv1.3"),
                Duration.ofSeconds(1)));
    assertEquals(32, gateway(as(issued), c -> c.generateDataKey(GEN)).getPlaintext().size());

    StringWriter bench = new StringWriter();
    exit =
        Cli.run(
            new String[] {
              "bench",
              "generate",
              "--seconds",
              "1",
              "--warmup",
              "0",
              "--concurrency",
              "2",
              "--data-dir",
              dir.toString()
            },
            new PrintWriter(bench, true),
            new PrintWriter(err, true));
    assertEquals(0, exit, err.toString());
    var figures = new ObjectMapper().readTree(bench.toString());
    assertEquals("generate", figures.get("scenario").asText());
    assertTrue(figures.get("ops").asLong() > 0, bench.toString());
    assertEquals(0, figures.get("errors").asLong(), bench.toString());
    assertEquals(1, bench.toString().strip().lines().count(), "one JSON line");
  }

  @Test
  void clientsWithoutAnAcceptableCertificateAreRefusedAndNothingIsServed() throws Exception {
    // no certificate at all (but trusting the server)
    SSLContext anonymous = SSLContext.getInstance("TLSv1.3");
    anonymous.init(
        null,
        new TrustManager[] {stack.clientTls().orElseThrow().trustManager(Set.of("gateway"))},
        null);
    assertRefused(toGateway().withTls(true).withSslContext(anonymous));
    // plaintext
    assertRefused(toGateway().withTls(false));
    // a certificate from another CA (same trust domain, same name)
    DevCa other = DevCa.loadOrCreate(dir.resolve("other-ca"), DOMAIN);
    MutualTls intruder = identity(other, "intruder", "spiffe://" + DOMAIN + "/app/acme/payments");
    SSLContext intruderCtx = SSLContext.getInstance("TLSv1.3");
    intruderCtx.init(
        new javax.net.ssl.KeyManager[] {intruder.keyManager()},
        new TrustManager[] {stack.clientTls().orElseThrow().trustManager(Set.of("gateway"))},
        null);
    assertRefused(toGateway().withTls(true).withSslContext(intruderCtx));
    // an expired certificate of our own CA
    MutualTls expired =
        identity(
            ourCa(),
            "expired",
            "spiffe://" + DOMAIN + "/app/acme/payments",
            Instant.now().minus(Duration.ofDays(2)),
            Instant.now().minus(Duration.ofDays(1)));
    assertRefused(as(expired));
    // a gateway identity is not a caller of the gateway's data-key API
    assertRefused(as(identity(ourCa(), "other-gw", "spiffe://" + DOMAIN + "/gateway/other")));

    // the Core's listener does not take application identities at all
    MutualTls app = identity(ourCa(), "app2", "spiffe://" + DOMAIN + "/app/acme/payments");
    AdminServiceClient admin =
        AdminServiceClient.create(
            NodeTls.client(
                GrpcClientSettings.connectToServiceAt(
                        "127.0.0.1", stack.core().grpcAddress().getPort(), kit.system())
                    .withDeadline(Duration.ofSeconds(10))
                    .withConnectionAttempts(2),
                Optional.of(app),
                Set.of("core")),
            kit.system());
    try {
      assertThrows(
          OpenKcmException.class,
          () ->
              Rpc.await(
                  admin.getTenant(GetTenantRequest.newBuilder().setTenantId("acme").build())));
    } finally {
      admin.close();
    }
    // and the accepted path still works
    assertEquals(32, gateway(as(app), c -> c.generateDataKey(GEN)).getPlaintext().size());
  }

  @Test
  void aNewCaInTheTrustBundleIsAcceptedWithoutRestart() throws Exception {
    Path bundle = pki.resolve(DevCa.CA_CERT);
    String original = Files.readString(bundle);
    DevCa next = DevCa.loadOrCreate(dir.resolve("next-ca"), DOMAIN);
    MutualTls newcomer = identity(next, "newcomer", "spiffe://" + DOMAIN + "/app/acme/payments");
    assertRefused(as(newcomer));
    try {
      Files.writeString(
          bundle, original + Files.readString(dir.resolve("next-ca").resolve(DevCa.CA_CERT)));
      Files.setLastModifiedTime(bundle, FileTime.from(Instant.now().plusSeconds(2)));
      kit.createTestProbe()
          .awaitAssert(
              Duration.ofSeconds(15),
              Duration.ofMillis(200),
              () -> {
                assertEquals(
                    32, gateway(as(newcomer), c -> c.generateDataKey(GEN)).getPlaintext().size());
                return null;
              });
    } finally {
      Files.writeString(bundle, original);
      Files.setLastModifiedTime(bundle, FileTime.from(Instant.now().plusSeconds(4)));
    }
  }

  @Test
  void anApplicationAskingForAnotherTenantOrServiceIsDeniedAndAudited() {
    MutualTls app = identity(ourCa(), "app-authz", "spiffe://" + DOMAIN + "/app/acme/payments");
    OpenKcmException otherTenant =
        assertThrows(
            OpenKcmException.class,
            () ->
                gateway(
                    as(app),
                    c -> c.generateDataKey(GEN.toBuilder().setTenantId("globex").build())));
    assertEquals(ErrorReason.PERMISSION_DENIED, otherTenant.reason());
    assertTrue(
        otherTenant
            .getMessage()
            .contains(
                "spiffe://"
                    + DOMAIN
                    + "/app/acme/payments may not GenerateDataKey"
                    + " on tenant globex"),
        otherTenant.getMessage());
    assertAudited(
        "authz",
        "decision",
        "deny",
        "principal",
        "spiffe://" + DOMAIN + "/app/acme/payments",
        "action",
        "GenerateDataKey",
        "resourceType",
        "Tenant",
        "resource",
        "globex");

    OpenKcmException otherService =
        assertThrows(
            OpenKcmException.class,
            () ->
                gateway(
                    as(app),
                    c -> c.generateDataKey(GEN.toBuilder().setServiceId("billing").build())));
    assertEquals(ErrorReason.PERMISSION_DENIED, otherService.reason());

    // an envelope of acme/payments opened by an app of acme/billing: the envelope header names
    // payments
    MutualTls billing =
        identity(ourCa(), "app-billing", "spiffe://" + DOMAIN + "/app/acme/billing");
    GenerateDataKeyResponse dek = gateway(as(app), c -> c.generateDataKey(GEN));
    OpenKcmException foreignEnvelope =
        assertThrows(
            OpenKcmException.class,
            () ->
                gateway(
                    as(billing),
                    c ->
                        c.decrypt(
                            DecryptRequest.newBuilder()
                                .setTenantId("acme")
                                .setEnvelope(dek.getEnvelope())
                                .putContext("order", "42")
                                .build())));
    assertEquals(ErrorReason.PERMISSION_DENIED, foreignEnvelope.reason());
    assertAudited(
        "authz",
        "decision",
        "allow",
        "principal",
        "spiffe://" + DOMAIN + "/app/acme/payments",
        "action",
        "GenerateDataKey");
  }

  @Test
  void aGatewayLimitedToTenantAIsDeniedTenantBAtTheCoreAndCannotAdminister() {
    MutualTls gwA = identity(ourCa(), "gw-a", "spiffe://" + DOMAIN + "/gateway/gw-a");
    CoreKeyServiceClient core =
        CoreKeyServiceClient.create(
            NodeTls.client(
                GrpcClientSettings.connectToServiceAt(
                        "127.0.0.1", stack.core().grpcAddress().getPort(), kit.system())
                    .withDeadline(Duration.ofSeconds(10)),
                Optional.of(gwA),
                Set.of("core")),
            kit.system());
    AdminServiceClient admin =
        AdminServiceClient.create(
            NodeTls.client(
                GrpcClientSettings.connectToServiceAt(
                        "127.0.0.1", stack.core().grpcAddress().getPort(), kit.system())
                    .withDeadline(Duration.ofSeconds(10)),
                Optional.of(gwA),
                Set.of("core")),
            kit.system());
    try {
      WrapKeysRequest.Builder wrap =
          WrapKeysRequest.newBuilder()
              .setServiceId("payments")
              .addItems(WrapItem.newBuilder().setPlaintext(ByteString.copyFrom(new byte[32])));
      assertEquals(
          1, Rpc.await(core.wrapKeys(wrap.setTenantId("acme").build())).getEnvelopesCount());
      OpenKcmException denied =
          assertThrows(
              OpenKcmException.class,
              () -> Rpc.await(core.wrapKeys(wrap.setTenantId("globex").build())));
      assertEquals(ErrorReason.PERMISSION_DENIED, denied.reason());
      assertTrue(
          denied.getMessage().contains("may not WrapKeys on tenant globex"), denied.getMessage());
      assertAudited(
          "authz",
          "decision",
          "deny",
          "principal",
          "spiffe://" + DOMAIN + "/gateway/gw-a",
          "action",
          "WrapKeys",
          "resource",
          "globex");

      OpenKcmException kill =
          assertThrows(
              OpenKcmException.class,
              () ->
                  Rpc.await(
                      admin.killTenant(
                          KillTenantRequest.newBuilder()
                              .setTenantId("acme")
                              .setReason("test")
                              .build())));
      assertEquals(ErrorReason.PERMISSION_DENIED, kill.reason());
      // nothing happened to the tenant
      assertEquals(
          "active",
          Rpc.await(
                  stackAdmin().getTenant(GetTenantRequest.newBuilder().setTenantId("acme").build()))
              .getStatus());
    } finally {
      core.close();
      admin.close();
    }
  }

  @Test
  void theClisAdminIdentityCannotObtainADataKeyAndEachDenialIsAudited() {
    MutualTls app =
        identity(ourCa(), "app-for-admin-test", "spiffe://" + DOMAIN + "/app/acme/payments");
    GenerateDataKeyResponse dek = gateway(as(app), c -> c.generateDataKey(GEN));
    MutualTls cli = stack.clientTls().orElseThrow();
    assertEquals("admin", cli.identity().kind());
    OpenKcmException decrypt =
        assertThrows(
            OpenKcmException.class,
            () ->
                gateway(
                    as(cli),
                    c ->
                        c.decrypt(
                            DecryptRequest.newBuilder()
                                .setTenantId("acme")
                                .setEnvelope(dek.getEnvelope())
                                .putContext("order", "42")
                                .build())));
    assertEquals(ErrorReason.PERMISSION_DENIED, decrypt.reason());
    assertTrue(
        decrypt.getMessage().contains("admins-never-obtain-data-keys"), decrypt.getMessage());
    assertAudited(
        "authz",
        "decision",
        "deny",
        "principal",
        cli.identity().uri(),
        "action",
        "Decrypt",
        "resource",
        "acme");
    OpenKcmException generate =
        assertThrows(OpenKcmException.class, () -> gateway(as(cli), c -> c.generateDataKey(GEN)));
    assertEquals(ErrorReason.PERMISSION_DENIED, generate.reason());
    assertAudited(
        "authz",
        "decision",
        "deny",
        "principal",
        cli.identity().uri(),
        "action",
        "GenerateDataKey");
    // nor through the Core's key API
    CoreKeyServiceClient core =
        CoreKeyServiceClient.create(
            NodeTls.client(
                GrpcClientSettings.connectToServiceAt(
                        "127.0.0.1", stack.core().grpcAddress().getPort(), kit.system())
                    .withDeadline(Duration.ofSeconds(10)),
                Optional.of(cli),
                Set.of("core")),
            kit.system());
    try {
      OpenKcmException unwrap =
          assertThrows(
              OpenKcmException.class,
              () ->
                  Rpc.await(
                      core.unwrapKeys(
                          org.openkcm.protocol.core.v1.UnwrapKeysRequest.newBuilder()
                              .setTenantId("acme")
                              .addItems(
                                  org.openkcm.protocol.core.v1.UnwrapItem.newBuilder()
                                      .setEnvelope(dek.getEnvelope())
                                      .putContext("order", "42"))
                              .build())));
      assertEquals(ErrorReason.PERMISSION_DENIED, unwrap.reason());
      assertAudited(
          "authz", "decision", "deny", "principal", cli.identity().uri(), "action", "UnwrapKeys");
    } finally {
      core.close();
    }
  }

  /** Runs the CLI against the stack; returns exit code, stdout and stderr. */
  private static String[] cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    String[] all =
        java.util.stream.Stream.concat(
                java.util.Arrays.stream(args),
                java.util.stream.Stream.of("--data-dir", dir.toString()))
            .toArray(String[]::new);
    int exit = Cli.run(all, new PrintWriter(out, true), new PrintWriter(err, true));
    return new String[] {Integer.toString(exit), out.toString(), err.toString()};
  }

  @Test
  void anL1ReLinkNeedsARequestAndAnotherVerifiedIdentitysApproval() throws Exception {
    stack.ensureTenant("relink", "devfile:relink-root", "payments");
    String[] requested =
        cli("admin", "tenant", "link-l1", "--tenant", "relink", "--l1", "devfile:relink-root-2");
    assertEquals("0", requested[0], requested[2]);
    var pending = new ObjectMapper().readTree(requested[1]).get("pendingL1Link");
    assertEquals("spiffe://" + DOMAIN + "/admin/cli", pending.get("requestedBy").asText());
    String id = pending.get("id").asText();
    assertEquals(
        "devfile:relink-root",
        new ObjectMapper().readTree(requested[1]).get("l1").asText(),
        "nothing moved");

    String[] self =
        cli("admin", "tenant", "approve-l1-link", "--tenant", "relink", "--request", id);
    assertEquals("1", self[0]);
    assertTrue(
        self[2].startsWith("error: PERMISSION_DENIED:")
            && self[2].contains("another identity must approve"),
        self[2]);
    // an admin without the security-officer role is stopped by the policy before the entity
    String[] operator =
        cli(
            "admin",
            "tenant",
            "approve-l1-link",
            "--tenant",
            "relink",
            "--request",
            id,
            "--as",
            "night-ops");
    assertEquals("1", operator[0]);
    assertTrue(operator[2].contains("may not ApproveL1Link"), operator[2]);
    // a foreign key domain is refused at the request
    String[] foreign =
        cli(
            "admin",
            "tenant",
            "link-l1",
            "--tenant",
            "relink",
            "--l1",
            "aws-kms:arn:aws:kms:eu-west-1:111122223333:key/platform");
    assertTrue(
        foreign[2].startsWith("error: L1_REJECTED:")
            && foreign[2].contains("outside the key domain"),
        foreign[2]);

    String[] approved =
        cli(
            "admin",
            "tenant",
            "approve-l1-link",
            "--tenant",
            "relink",
            "--request",
            id,
            "--as",
            "officer");
    assertEquals("0", approved[0], approved[2]);
    assertEquals(
        "devfile:relink-root-2", new ObjectMapper().readTree(approved[1]).get("l1").asText());
    assertAudited(
        "tenant.link-l1.request",
        "tenant",
        "relink",
        "l1",
        "devfile:relink-root-2",
        "outcome",
        "pending");
    assertAudited(
        "tenant.link-l1.approve",
        "tenant",
        "relink",
        "outcome",
        "PERMISSION_DENIED",
        "why",
        "four-eyes");
    assertAudited(
        "tenant.link-l1.approve",
        "tenant",
        "relink",
        "requested-by",
        "spiffe://" + DOMAIN + "/admin/cli",
        "approved-by",
        "spiffe://" + DOMAIN + "/admin/officer",
        "outcome",
        "ok");
  }

  @Test
  void aGatewayWatchCarriesOnlyTheTenantsAssignedToIt() {
    MutualTls gwA = identity(ourCa(), "gw-a-watch", "spiffe://" + DOMAIN + "/gateway/gw-a");
    CoreKeyServiceClient core =
        CoreKeyServiceClient.create(
            NodeTls.client(
                GrpcClientSettings.connectToServiceAt(
                    "127.0.0.1", stack.core().grpcAddress().getPort(), kit.system()),
                Optional.of(gwA),
                Set.of("core")),
            kit.system());
    java.util.List<org.openkcm.protocol.core.v1.TenantEvent> seen =
        new java.util.concurrent.CopyOnWriteArrayList<>();
    org.apache.pekko.stream.UniqueKillSwitch stop =
        core.watchTenantEvents(
                org.openkcm.protocol.core.v1.WatchTenantEventsRequest.newBuilder()
                    .setGateway("gw-a")
                    .build())
            .viaMat(
                org.apache.pekko.stream.KillSwitches.single(),
                org.apache.pekko.stream.javadsl.Keep.right())
            .to(org.apache.pekko.stream.javadsl.Sink.foreach(seen::add))
            .run(kit.system());
    try {
      eventually(() -> assertTrue(seen.stream().anyMatch(e -> e.getKind().equals("hello"))));
      stack.ensureTenant("not-for-gw-a", "devfile:not-for-gw-a-root", "payments");
      stack.ensureTenant("acme", "devfile:acme-root", "watch-probe");
      eventually(
          () ->
              assertTrue(
                  seen.stream()
                      .anyMatch(
                          e ->
                              e.getTenantId().equals("acme")
                                  && e.getKind().equals("service-created")),
                  "gw-a hears of acme: " + seen));
      assertTrue(
          seen.stream().noneMatch(e -> e.getTenantId().equals("not-for-gw-a")),
          "gw-a never hears of a tenant it does not serve: " + seen);
    } finally {
      stop.shutdown();
      core.close();
    }
  }

  private static AdminServiceClient stackAdmin() {
    return AdminServiceClient.create(
        NodeTls.client(
            GrpcClientSettings.connectToServiceAt(
                    "127.0.0.1", stack.core().grpcAddress().getPort(), kit.system())
                .withDeadline(Duration.ofSeconds(10)),
            stack.clientTls(),
            Set.of("core")),
        kit.system());
  }

  /**
   * Waits (bounded) for an audit record that is the JSON object of {@code event} with every given
   * field name = value: the Core records a key request beside its answer.
   */
  private static void assertAudited(String event, String... fields) {
    eventually(
        () ->
            assertTrue(
                audited(event, fields),
                "no audit record " + event + " " + java.util.Arrays.toString(fields)));
  }

  /** Runs {@code check} until it passes, for up to 10 s. */
  private static void eventually(Runnable check) {
    kit.createTestProbe()
        .awaitAssert(
            Duration.ofSeconds(10),
            Duration.ofMillis(50),
            () -> {
              check.run();
              return null;
            });
  }

  private static boolean audited(String event, String... fields) {
    ObjectMapper json = new ObjectMapper();
    return List.copyOf(audit.list).stream()
        .anyMatch(
            e -> {
              try {
                var record = json.readTree(e.getFormattedMessage());
                if (!event.equals(record.path("event").asText())) {
                  return false;
                }
                for (int i = 0; i < fields.length; i += 2) {
                  if (!fields[i + 1].equals(record.path(fields[i]).asText())) {
                    return false;
                  }
                }
                return true;
              } catch (Exception notJson) {
                throw new AssertionError(
                    "an audit record that is not JSON: " + e.getFormattedMessage(), notJson);
              }
            });
  }

  private static void assertRefused(GrpcClientSettings settings) {
    OpenKcmException e =
        assertThrows(OpenKcmException.class, () -> gateway(settings, c -> c.generateDataKey(GEN)));
    assertTrue(
        e.getMessage().contains("UNAVAILABLE")
            || e.getMessage().toLowerCase().contains("closed")
            || e.getMessage().toLowerCase().contains("ssl")
            || e.getMessage().toLowerCase().contains("certificate"),
        e.getMessage());
  }

  private static String hostPort(java.net.InetSocketAddress a) {
    return a.getHostString() + ":" + a.getPort();
  }
}
