package org.openkcm.node.authz;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.node.authz.Authorizer.Resource;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/** The shipped default policies and policy-file handling, evaluated by the real Cedar engine. */
class AuthorizerTest {

  /**
   * The shipped policies with: gateway gw-a serves acme, gw-all every tenant; ops is an operator,
   * so a security officer.
   */
  private static final Assignments ASSIGNED =
      new Assignments(
          Map.of("gw-a", Set.of("acme"), "gw-all", Set.of(Assignments.EVERY_TENANT)),
          Map.of(
              "ops",
              Set.of(AdminRole.OPERATOR),
              "so",
              Set.of(AdminRole.SECURITY_OFFICER),
              "both",
              Set.of(AdminRole.OPERATOR, AdminRole.SECURITY_OFFICER)));

  private static final Authorizer DEFAULT =
      Authorizer.load(
          new Authorizer.Settings(
              List.of("classpath:policies/default.cedar"),
              Duration.ofMinutes(1),
              100,
              Duration.ofHours(1),
              ASSIGNED));
  private static final Resource ACME = Resource.tenant("acme");
  private static final Resource GLOBEX = Resource.tenant("globex");
  private static final List<String> DATA_KEY_ACTIONS =
      List.of(
          "GenerateDataKey",
          "GenerateDataKeys",
          "Decrypt",
          "DecryptBatch",
          "CreateKey",
          "GetKey",
          "WrapKeys",
          "UnwrapKeys");

  @TempDir Path dir;

  private static Optional<SpiffeId> id(String path) {
    return Optional.of(SpiffeId.parse("spiffe://openkcm.local/" + path));
  }

  private static OpenKcmException denied(
      Authorizer a, Optional<SpiffeId> who, String action, Resource r, String service) {
    OpenKcmException e =
        assertThrows(OpenKcmException.class, () -> a.require(who, action, r, service, "t"));
    assertEquals(ErrorReason.PERMISSION_DENIED, e.reason());
    return e;
  }

  @Test
  void aGatewayWrapsAndUnwrapsOnlyForItsAssignedTenants() {
    assertDoesNotThrow(
        () -> DEFAULT.require(id("gateway/gw-a"), "WrapKeys", ACME, "payments", "t"));
    assertDoesNotThrow(() -> DEFAULT.require(id("gateway/gw-a"), "UnwrapKeys", ACME, "", "t"));
    OpenKcmException e = denied(DEFAULT, id("gateway/gw-a"), "UnwrapKeys", GLOBEX, "");
    assertTrue(
        e.getMessage()
            .contains("spiffe://openkcm.local/gateway/gw-a may not UnwrapKeys on tenant globex"),
        e.getMessage());
    denied(DEFAULT, id("gateway/gw-unassigned"), "WrapKeys", ACME, "payments");
    assertDoesNotThrow(() -> DEFAULT.require(id("gateway/gw-all"), "UnwrapKeys", GLOBEX, "", "t"));
    assertDoesNotThrow(
        () ->
            DEFAULT.require(
                id("gateway/gw-unassigned"), "WatchTenantEvents", Resource.tenant("*"), "", "t"));
    denied(DEFAULT, id("gateway/gw-all"), "KillTenant", ACME, "");
    denied(DEFAULT, id("gateway/gw-all"), "GenerateDataKey", ACME, "payments");
  }

  @Test
  void anApplicationUsesOnlyItsOwnTenantAndService() {
    Optional<SpiffeId> app = id("app/acme/payments");
    assertDoesNotThrow(() -> DEFAULT.require(app, "GenerateDataKey", ACME, "payments", "t"));
    assertDoesNotThrow(() -> DEFAULT.require(app, "Decrypt", ACME, "payments", "t"));
    assertDoesNotThrow(() -> DEFAULT.require(app, "DestroyBySubject", ACME, "payments", "t"));
    OpenKcmException other = denied(DEFAULT, app, "GenerateDataKey", GLOBEX, "payments");
    assertTrue(other.getMessage().contains("no policy permits it"), other.getMessage());
    denied(DEFAULT, app, "Decrypt", ACME, "billing");
    denied(DEFAULT, app, "GetKey", ACME, "");
    denied(DEFAULT, app, "DestroyBySubject", ACME, "billing");
    denied(DEFAULT, app, "WrapKeys", ACME, "payments");
    denied(DEFAULT, app, "KillTenant", ACME, "");
    denied(DEFAULT, id("app/acme"), "GenerateDataKey", ACME, "payments");
  }

  @Test
  void operatorsAdministerAndOnlySecurityOfficersKillSealOrApprove() {
    assertDoesNotThrow(() -> DEFAULT.require(id("admin/ops"), "CreateTenant", ACME, "", "t"));
    assertDoesNotThrow(
        () -> DEFAULT.require(id("admin/ops"), "Unseal", new Resource("Seal", "core"), "", "t"));
    for (String action : List.of("KillTenant", "ReviveTenant", "ApproveL1Link")) {
      denied(DEFAULT, id("admin/ops"), action, ACME, "");
      assertDoesNotThrow(() -> DEFAULT.require(id("admin/so"), action, ACME, "", "t"));
    }
    denied(DEFAULT, id("admin/ops"), "EngageKillSwitch", new Resource("KillSwitch", "global"), "");
    denied(DEFAULT, id("admin/ops"), "Seal", new Resource("Seal", "core"), "");
    assertDoesNotThrow(
        () ->
            DEFAULT.require(
                id("admin/so"), "EngageKillSwitch", new Resource("KillSwitch", "global"), "", "t"));
    assertDoesNotThrow(
        () -> DEFAULT.require(id("admin/so"), "Seal", new Resource("Seal", "core"), "", "t"));
    denied(DEFAULT, id("admin/so"), "CreateTenant", ACME, "");
    denied(DEFAULT, id("admin/nobody"), "GetTenant", ACME, "");
  }

  @Test
  void noAdminEverObtainsADataKeyEvenWhenAnotherPolicyPermitsIt() throws Exception {
    Path extra =
        Files.writeString(
            dir.resolve("careless.cedar"),
            "@id(\"careless\") permit (principal is OpenKCM::Admin, action, resource);\n");
    Authorizer careless =
        Authorizer.load(
            new Authorizer.Settings(
                List.of("classpath:policies/default.cedar", extra.toString()),
                Duration.ofMinutes(1),
                100,
                Duration.ofHours(1),
                ASSIGNED));
    for (String action : DATA_KEY_ACTIONS) {
      for (String admin : List.of("admin/ops", "admin/so", "admin/both")) {
        OpenKcmException e = denied(careless, id(admin), action, ACME, "payments");
        assertTrue(e.getMessage().contains("admins-never-obtain-data-keys"), e.getMessage());
      }
    }
    assertDoesNotThrow(() -> careless.require(id("admin/ops"), "KillTenant", ACME, "", "t"));
  }

  @Test
  void callersWithoutIdentityOrOfUnknownKindAreDenied() {
    assertTrue(
        denied(DEFAULT, Optional.empty(), "GenerateDataKey", ACME, "payments")
            .getMessage()
            .contains("client certificate"));
    denied(DEFAULT, id("robot/r1"), "GenerateDataKey", ACME, "payments");
    denied(DEFAULT, id("core/c1"), "UnwrapKeys", ACME, "");
  }

  @Test
  void assignmentsAreReadFromConfigurationAndAnUnknownRoleIsRefused() {
    Assignments a =
        Assignments.from(
            com.typesafe.config.ConfigFactory.parseString(
                "gateways { gw-eu-1 = [acme, globex] }, admins { alice = [security-officer] }"));
    assertEquals(Set.of("acme", "globex"), a.tenantsOf("gw-eu-1"));
    assertEquals(Set.of(AdminRole.SECURITY_OFFICER), a.rolesOf("alice"));
    assertEquals(Set.of(), a.tenantsOf("gw-other"));
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () ->
                Assignments.from(
                    com.typesafe.config.ConfigFactory.parseString(
                        "gateways {}, admins { bob = [root] }")));
    assertTrue(e.getMessage().contains("unknown admin role 'root'"), e.getMessage());
  }

  @Test
  void policyFilesAreReloadedWhenTheyChangeAndABrokenChangeKeepsThePreviousPolicies()
      throws Exception {
    Path file = dir.resolve("p.cedar");
    Files.writeString(
        file,
        """
        @id("ops-acme") permit (principal == OpenKCM::Admin::"ops", action, resource == OpenKCM::Tenant::"acme");
        """);
    Authorizer a =
        Authorizer.load(
            new Authorizer.Settings(
                List.of(file.toString()), Duration.ofMillis(1), 100, Duration.ofMillis(1)));
    assertDoesNotThrow(() -> a.require(id("admin/ops"), "KillTenant", ACME, "", "t"));
    denied(a, id("admin/ops"), "KillTenant", Resource.tenant("globex"), "");

    Files.writeString(
        file,
        """
        @id("ops-acme") permit (principal == OpenKCM::Admin::"ops", action, resource == OpenKCM::Tenant::"acme");
        @id("no-kills") forbid (principal, action == OpenKCM::Action::"KillTenant", resource);
        """);
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));
    awaitDenied(a, "KillTenant");
    assertTrue(
        denied(a, id("admin/ops"), "KillTenant", ACME, "")
            .getMessage()
            .contains("forbidden by [no-kills]"));

    Files.writeString(
        file, "permit (principal, action, resource"); // broken: refused, previous policies stay
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(10)));
    for (int i = 0; i < 50; i++) {
      denied(a, id("admin/ops"), "KillTenant", ACME, "");
    }
    assertDoesNotThrow(() -> a.require(id("admin/ops"), "GetTenant", ACME, "", "t"));
  }

  @Test
  void aPolicyFileThatDoesNotParseIsRefusedAtStartWithCedarsMessage() throws Exception {
    Path file = dir.resolve("bad.cedar");
    Files.writeString(file, "permit (principal, action resource);");
    IllegalStateException e =
        assertThrows(
            IllegalStateException.class,
            () ->
                Authorizer.load(
                    new Authorizer.Settings(
                        List.of(file.toString()),
                        Duration.ofMinutes(1),
                        100,
                        Duration.ofSeconds(1))));
    assertTrue(e.getMessage().contains("Cedar cannot parse"), e.getMessage());
  }

  private static void awaitDenied(Authorizer a, String action) {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try {
        a.require(id("admin/ops"), action, ACME, "", "t");
      } catch (OpenKcmException e) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("still allowed after the policy change");
      }
      Thread.onSpinWait();
    }
  }
}
