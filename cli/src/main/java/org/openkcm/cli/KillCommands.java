package org.openkcm.cli;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.openkcm.cli.AdminCommand.CoreTarget;
import org.openkcm.protocol.admin.v1.KillSwitchRequest;
import org.openkcm.protocol.admin.v1.KillSwitchState;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.admin.v1.ReviveTenantRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ./openkcm admin kill|revive}: the tenant, region and global kill-switches. */
final class KillCommands {

  private KillCommands() {}

  /** Exactly one of --tenant, --region, --all. */
  static final class KillScope {
    @Option(names = "--tenant", description = "One tenant.")
    String tenant;

    @Option(
        names = "--region",
        description = "Every tenant of a region (this Core cluster's region: see GetKillSwitch).")
    String region;

    @Option(names = "--all", description = "Every tenant, everywhere.")
    boolean all;

    String scope() {
      int given = (tenant != null ? 1 : 0) + (region != null ? 1 : 0) + (all ? 1 : 0);
      if (given != 1) {
        throw new picocli.CommandLine.ParameterException(
            new picocli.CommandLine(new KillScope()),
            "give exactly one of --tenant, --region, --all");
      }
      return all ? "global" : region != null ? "region:" + region : "tenant";
    }
  }

  @Command(
      name = "kill",
      mixinStandardHelpOptions = true,
      description = {
        "Pull the kill-switch: the tenant (or region, or everything) refuses every wrap/unwrap with",
        "TENANT_KILLED at once, on every Core node; persisted, survives a restart."
      })
  static final class KillCmd implements Callable<Integer> {
    @Mixin CoreTarget target;

    @picocli.CommandLine.ArgGroup(exclusive = false, multiplicity = "1")
    KillScope scope;

    @Option(names = "--reason", required = true, description = "Why (goes to the audit log).")
    String reason;

    @Option(
        names = "--by",
        defaultValue = "${sys:user.name}",
        description = "Who pulls it (default: ${DEFAULT-VALUE}).")
    String by;

    @Override
    public Integer call() {
      String sc = scope.scope();
      if (sc.equals("tenant")) {
        return target.call(
            admin ->
                admin.killTenant(
                    KillTenantRequest.newBuilder()
                        .setTenantId(scope.tenant)
                        .setReason(reason)
                        .setRequestedBy(by)
                        .build()));
      }
      return target.callKillSwitch(
          admin ->
              admin.engageKillSwitch(
                  KillSwitchRequest.newBuilder()
                      .setScope(sc)
                      .setReason(reason)
                      .setRequestedBy(by)
                      .build()));
    }
  }

  @Command(
      name = "revive",
      mixinStandardHelpOptions = true,
      description = {
        "Lift a kill: a tenant is unsealed from its L1 again (fails if the customer revoked L1);",
        "--region/--all release that kill-switch."
      })
  static final class ReviveCmd implements Callable<Integer> {
    @Mixin CoreTarget target;

    @picocli.CommandLine.ArgGroup(exclusive = false, multiplicity = "1")
    KillScope scope;

    @Option(
        names = "--by",
        defaultValue = "${sys:user.name}",
        description = "Who lifts it (default: ${DEFAULT-VALUE}).")
    String by;

    @Override
    public Integer call() {
      String sc = scope.scope();
      if (sc.equals("tenant")) {
        return target.call(
            admin ->
                admin.reviveTenant(
                    ReviveTenantRequest.newBuilder()
                        .setTenantId(scope.tenant)
                        .setRequestedBy(by)
                        .build()));
      }
      return target.callKillSwitch(
          admin ->
              admin.releaseKillSwitch(
                  KillSwitchRequest.newBuilder().setScope(sc).setRequestedBy(by).build()));
    }
  }

  static Map<String, Object> killSwitchJson(KillSwitchState state) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("region", state.getRegion());
    Map<String, Object> engaged = new LinkedHashMap<>();
    state
        .getEngagedList()
        .forEach(
            e ->
                engaged.put(
                    e.getScope(),
                    Map.of(
                        "reason", e.getReason(), "by", e.getRequestedBy(), "since", e.getSince())));
    out.put("engaged", engaged);
    return out;
  }
}
