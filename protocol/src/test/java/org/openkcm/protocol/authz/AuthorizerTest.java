package org.openkcm.protocol.authz;

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
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.protocol.authz.Authorizer.Resource;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.tls.SpiffeId;

/** The shipped default policies and policy-file handling, evaluated by the real Cedar engine. */
class AuthorizerTest {

  private static final Authorizer DEFAULT = Authorizer.load(new Authorizer.Settings(
      List.of("classpath:policies/default.cedar"), Duration.ofMinutes(1), 100, Duration.ofHours(1)));
  private static final Resource ACME = Resource.tenant("acme");

  @TempDir
  Path dir;

  private static Optional<SpiffeId> id(String path) {
    return Optional.of(SpiffeId.parse("spiffe://openkcm.local/" + path));
  }

  private static OpenKcmException denied(Authorizer a, Optional<SpiffeId> who, String action, Resource r, String service) {
    OpenKcmException e = assertThrows(OpenKcmException.class, () -> a.require(who, action, r, service, "t"));
    assertEquals(ErrorReason.PERMISSION_DENIED, e.reason());
    return e;
  }

  @Test
  void gatewaysWrapAndUnwrapForAnyTenantButDoNothingElse() {
    assertDoesNotThrow(() -> DEFAULT.require(id("gateway/g1"), "WrapKeys", ACME, "payments", "t"));
    assertDoesNotThrow(() -> DEFAULT.require(id("gateway/g1"), "UnwrapKeys", Resource.tenant("other"), "", "t"));
    OpenKcmException e = denied(DEFAULT, id("gateway/g1"), "KillTenant", ACME, "");
    assertTrue(e.getMessage().contains("spiffe://openkcm.local/gateway/g1 may not KillTenant on tenant acme"),
        e.getMessage());
    denied(DEFAULT, id("gateway/g1"), "GenerateDataKey", ACME, "payments");
  }

  @Test
  void anApplicationUsesOnlyItsOwnTenantAndService() {
    Optional<SpiffeId> app = id("app/acme/payments");
    assertDoesNotThrow(() -> DEFAULT.require(app, "GenerateDataKey", ACME, "payments", "t"));
    assertDoesNotThrow(() -> DEFAULT.require(app, "Decrypt", ACME, "payments", "t"));
    assertDoesNotThrow(() -> DEFAULT.require(app, "DestroyBySubject", ACME, "", "t"));
    OpenKcmException other = denied(DEFAULT, app, "GenerateDataKey", Resource.tenant("globex"), "payments");
    assertTrue(other.getMessage().contains("no policy permits it"), other.getMessage());
    denied(DEFAULT, app, "Decrypt", ACME, "billing");
    denied(DEFAULT, app, "WrapKeys", ACME, "payments");
    denied(DEFAULT, app, "KillTenant", ACME, "");
    denied(DEFAULT, id("app/acme"), "GenerateDataKey", ACME, "payments");
  }

  @Test
  void adminsAdministerAndCallersWithoutIdentityOrOfUnknownKindAreDenied() {
    assertDoesNotThrow(() -> DEFAULT.require(id("admin/ops"), "KillTenant", ACME, "", "t"));
    assertDoesNotThrow(() -> DEFAULT.require(id("admin/ops"), "EngageKillSwitch",
        new Resource("KillSwitch", "global"), "", "t"));
    assertTrue(denied(DEFAULT, Optional.empty(), "GenerateDataKey", ACME, "payments").getMessage()
        .contains("client certificate"));
    denied(DEFAULT, id("robot/r1"), "GenerateDataKey", ACME, "payments");
  }

  @Test
  void policyFilesAreReloadedWhenTheyChangeAndABrokenChangeKeepsThePreviousPolicies() throws Exception {
    Path file = dir.resolve("p.cedar");
    Files.writeString(file, """
        @id("ops-acme") permit (principal == OpenKCM::Admin::"ops", action, resource == OpenKCM::Tenant::"acme");
        """);
    Authorizer a = Authorizer.load(new Authorizer.Settings(List.of(file.toString()), Duration.ofMillis(1), 100,
        Duration.ofMillis(1)));
    assertDoesNotThrow(() -> a.require(id("admin/ops"), "KillTenant", ACME, "", "t"));
    denied(a, id("admin/ops"), "KillTenant", Resource.tenant("globex"), "");

    Files.writeString(file, """
        @id("ops-acme") permit (principal == OpenKCM::Admin::"ops", action, resource == OpenKCM::Tenant::"acme");
        @id("no-kills") forbid (principal, action == OpenKCM::Action::"KillTenant", resource);
        """);
    Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));
    awaitDenied(a, "KillTenant");
    assertTrue(denied(a, id("admin/ops"), "KillTenant", ACME, "").getMessage().contains("forbidden by [no-kills]"));

    Files.writeString(file, "permit (principal, action, resource"); // broken: refused, previous policies stay
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
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> Authorizer.load(
        new Authorizer.Settings(List.of(file.toString()), Duration.ofMinutes(1), 100, Duration.ofSeconds(1))));
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
