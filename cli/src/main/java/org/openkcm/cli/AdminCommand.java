package org.openkcm.cli;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.openkcm.protocol.admin.v1.AdminServiceClient;
import org.openkcm.protocol.admin.v1.ApproveL1LinkRequest;
import org.openkcm.protocol.admin.v1.CheckL1Request;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.KillSwitchState;
import org.openkcm.protocol.admin.v1.LinkL1Request;
import org.openkcm.protocol.admin.v1.TenantInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ./openkcm admin ...}: governance calls to the Core's AdminService. */
@Command(
    name = "admin",
    mixinStandardHelpOptions = true,
    description = "Tenants and services (governance API of the Core).",
    subcommands = {
      AdminCommand.Tenant.class,
      AdminCommand.Service.class,
      LifecycleCommands.RotateCmd.class,
      LifecycleCommands.RotationPolicyCmd.class,
      KillCommands.KillCmd.class,
      OrbitalCommand.class,
      AuditCommand.class,
      ConsoleCommand.class,
      KillCommands.ReviveCmd.class,
      SealCommands.InitCmd.class,
      SealCommands.UnsealCmd.class,
      SealCommands.SealCmd.class,
      SealCommands.SealStatusCmd.class,
      SealCommands.MigrateSealCmd.class
    })
final class AdminCommand {

  @Command(
      name = "tenant",
      mixinStandardHelpOptions = true,
      description = "Onboard or show a tenant.",
      subcommands = {
        TenantCreate.class,
        TenantShow.class,
        TenantCheckL1.class,
        TenantLinkL1.class,
        TenantApproveL1Link.class,
        LifecycleCommands.TenantOffboard.class,
        LifecycleCommands.TenantRewrapL2.class
      })
  static final class Tenant {}

  @Command(
      name = "service",
      mixinStandardHelpOptions = true,
      description = "Create a service (an L3 key) of a tenant, or retire its old key versions.",
      subcommands = {ServiceCreate.class, LifecycleCommands.ServiceRetire.class})
  static final class Service {}

  @Command(
      name = "create",
      mixinStandardHelpOptions = true,
      description =
          "Onboard a tenant: link its L1 and generate its L2 (persisted only L1-wrapped).")
  static final class TenantCreate implements Callable<Integer> {
    @Mixin CoreTarget target;

    @Option(
        names = "--tenant",
        required = true,
        description = "Tenant id (lower-case letters, digits, '.', '_', '-').")
    String tenant;

    @Option(names = "--l1", required = true, description = "L1 reference, e.g. devfile:acme-root.")
    String l1;

    @Option(
        names = "--reuse-offboarded-id",
        description = "Re-create a tenant id that was offboarded (refused without it).")
    boolean reuse;

    @Override
    public Integer call() {
      return target.call(
          admin ->
              admin.createTenant(
                  CreateTenantRequest.newBuilder()
                      .setTenantId(tenant)
                      .setL1Reference(l1)
                      .setReuseOffboardedId(reuse)
                      .build()));
    }
  }

  @Command(
      name = "show",
      mixinStandardHelpOptions = true,
      description = "Show a tenant, its services and key versions.")
  static final class TenantShow implements Callable<Integer> {
    @Mixin CoreTarget target;

    @Option(names = "--tenant", required = true, description = "Tenant id.")
    String tenant;

    @Override
    public Integer call() {
      return target.call(
          admin -> admin.getTenant(GetTenantRequest.newBuilder().setTenantId(tenant).build()));
    }
  }

  @Command(
      name = "check-l1",
      mixinStandardHelpOptions = true,
      description =
          "Ask the tenant's L1 keystore now; a revoked L1 wipes the tenant's keys at once.")
  static final class TenantCheckL1 implements Callable<Integer> {
    @Mixin CoreTarget target;

    @Option(names = "--tenant", required = true, description = "Tenant id.")
    String tenant;

    @Override
    public Integer call() {
      return target.call(
          admin -> admin.checkL1(CheckL1Request.newBuilder().setTenantId(tenant).build()));
    }
  }

  @Command(
      name = "link-l1",
      mixinStandardHelpOptions = true,
      description =
          "Request to move the tenant's L2 under another L1 of the key domain pinned at onboarding; "
              + "nothing moves until another identity runs approve-l1-link with the printed request id.")
  static final class TenantLinkL1 implements Callable<Integer> {
    @Mixin CoreTarget target;

    @Option(names = "--tenant", required = true, description = "Tenant id.")
    String tenant;

    @Option(names = "--l1", required = true, description = "The new L1 reference.")
    String l1;

    @Override
    public Integer call() {
      return target.call(
          admin ->
              admin.requestL1Link(
                  LinkL1Request.newBuilder().setTenantId(tenant).setL1Reference(l1).build()));
    }
  }

  @Command(
      name = "approve-l1-link",
      mixinStandardHelpOptions = true,
      description =
          "Approve a pending L1 re-link (four eyes: not as the identity that requested it). The "
              + "current L1 must answer and the new one pass a wrap/unwrap round trip.")
  static final class TenantApproveL1Link implements Callable<Integer> {
    @Mixin CoreTarget target;

    @Option(names = "--tenant", required = true, description = "Tenant id.")
    String tenant;

    @Option(
        names = "--request",
        required = true,
        description = "The pending request's id (pendingL1Link.id).")
    String request;

    @Override
    public Integer call() {
      return target.call(
          admin ->
              admin.approveL1Link(
                  ApproveL1LinkRequest.newBuilder()
                      .setTenantId(tenant)
                      .setRequestId(request)
                      .build()));
    }
  }

  @Command(
      name = "create",
      mixinStandardHelpOptions = true,
      description = "Create a service: generate its L3 (persisted only L2-wrapped).")
  static final class ServiceCreate implements Callable<Integer> {
    @Mixin CoreTarget target;

    @Option(names = "--tenant", required = true, description = "Tenant id.")
    String tenant;

    @Option(names = "--service", required = true, description = "Service id.")
    String service;

    @Option(
        names = "--pin",
        description =
            "Geo-fencing: the service's key never leaves the tenant's home region (other regions"
                + " answer SERVICE_PINNED).")
    boolean pin;

    @Override
    public Integer call() {
      return target.call(
          admin ->
              admin.createService(
                  CreateServiceRequest.newBuilder()
                      .setPinned(pin)
                      .setTenantId(tenant)
                      .setServiceId(service)
                      .build()));
    }
  }

  static Map<String, Object> tenantJson(TenantInfo info) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("tenant", info.getTenantId());
    out.put("l1", info.getL1Reference());
    out.put("l2Version", info.getL2Version());
    if (!info.getL2CreatedAt().isEmpty()) {
      out.put("l2CreatedAt", info.getL2CreatedAt());
    }
    if (!info.getL2MaxAge().isEmpty()) {
      out.put("l2MaxAge", info.getL2MaxAge());
    }
    out.put("status", info.getStatus());
    out.put("unsealed", info.getUnsealed());
    out.put("node", info.getNode());
    if (!info.getHomeRegion().isEmpty()) {
      out.put("homeRegion", info.getHomeRegion());
    }
    if (!info.getKillScope().isEmpty()) {
      out.put(
          "killed",
          Map.of(
              "scope",
              info.getKillScope(),
              "reason",
              info.getKillReason(),
              "by",
              info.getKilledBy(),
              "since",
              info.getKilledSince()));
    }
    if (!info.getRevocationReason().isEmpty()) {
      out.put(
          "revocation",
          Map.of(
              "reason",
              info.getRevocationReason(),
              "message",
              info.getRevocationMessage(),
              "since",
              info.getRevokedSince()));
    }
    if (!info.getPendingL1LinkId().isEmpty()) {
      out.put(
          "pendingL1Link",
          Map.of(
              "id",
              info.getPendingL1LinkId(),
              "l1",
              info.getPendingL1Reference(),
              "requestedBy",
              info.getPendingL1RequestedBy()));
    }
    Map<String, Integer> services = new LinkedHashMap<>();
    info.getServicesList().forEach(sv -> services.put(sv.getServiceId(), sv.getL3Version()));
    out.put("services", services);
    Map<String, Object> versions = new LinkedHashMap<>();
    Map<String, Object> maxAges = new LinkedHashMap<>();
    for (var sv : info.getServicesList()) {
      java.util.List<Map<String, Object>> list = new java.util.ArrayList<>();
      for (var v : sv.getVersionsList()) {
        Map<String, Object> one = new LinkedHashMap<>();
        one.put("version", v.getVersion());
        one.put("state", v.getState());
        if (!v.getCreatedAt().isEmpty()) {
          one.put("createdAt", v.getCreatedAt());
          one.put(
              "ageSeconds",
              java.time.Duration.between(
                      java.time.Instant.parse(v.getCreatedAt()), java.time.Instant.now())
                  .toSeconds());
        }
        one.put("wraps", v.getWraps());
        if (!v.getDestroyedSha256().isEmpty()) {
          one.put("destroyedSha256", v.getDestroyedSha256());
        }
        list.add(one);
      }
      versions.put(sv.getServiceId(), list);
      if (!sv.getL3MaxAge().isEmpty()) {
        maxAges.put(sv.getServiceId(), sv.getL3MaxAge());
      }
    }
    out.put("l3Versions", versions);
    out.put("l3MaxAge", maxAges);
    return out;
  }

  static final class CoreTarget {
    @Option(
        names = "--core",
        description = "Core HOST:PORT (default: from DATA_DIR/endpoints.json).")
    String core;

    @Option(
        names = "--data-dir",
        defaultValue = "./data",
        description = "Data dir of the running demo (default: ${DEFAULT-VALUE}).")
    java.nio.file.Path dataDir;

    @Option(
        names = "--timeout",
        defaultValue = "30s",
        description = "Deadline of the call (default: ${DEFAULT-VALUE}).")
    String timeout;

    @Option(
        names = "--tls-dir",
        description =
            "mTLS client material: DIR/cli.crt, cli.key, ca.crt (default: the "
                + "demo's, from endpoints.json; none with --core).")
    java.nio.file.Path tlsDir;

    @Option(
        names = "--as",
        description =
            "Act as admin identity NAME (spiffe://<domain>/admin/NAME), issued from the "
                + "demo's development CA on first use; default: the CLI's own (cli).")
    String as;

    /** The Core to call and the identity to call it as. */
    Target target() {
      return as == null
          ? Target.resolve(core, dataDir, tlsDir, Endpoints::core)
          : Target.resolveAdmin(core, dataDir, tlsDir, Endpoints::core, as);
    }

    <T> int callAdmin(
        Function<AdminServiceClient, CompletionStage<T>> request,
        Function<T, Map<String, Object>> json) {
      Duration deadline = Cli.parseDuration(timeout);
      Target at = target();
      try (ClientSystem clients = new ClientSystem()) {
        Cli.printJson(json.apply(Cli.await(request.apply(clients.admin(at, deadline)), deadline)));
        return 0;
      }
    }

    int callKillSwitch(Function<AdminServiceClient, CompletionStage<KillSwitchState>> request) {
      return callAdmin(request, KillCommands::killSwitchJson);
    }

    int call(Function<AdminServiceClient, CompletionStage<TenantInfo>> request) {
      return callAdmin(request, AdminCommand::tenantJson);
    }
  }
}
