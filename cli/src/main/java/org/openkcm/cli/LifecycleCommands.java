package org.openkcm.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.openkcm.cli.AdminCommand.CoreTarget;
import org.openkcm.protocol.admin.v1.OffboardReceipt;
import org.openkcm.protocol.admin.v1.OffboardTenantRequest;
import org.openkcm.protocol.admin.v1.RetireKeysRequest;
import org.openkcm.protocol.admin.v1.RotateKeyRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./openkcm admin rotate | service retire | tenant offboard}: the life of a tenant's keys,
 * from a new version to the destruction of all of them.
 */
final class LifecycleCommands {

  private LifecycleCommands() {}

  @Command(
      name = "rotate",
      mixinStandardHelpOptions = true,
      description = {
        "Rotate a key: --service S makes a new L3 version active (older ones keep opening their",
        "envelopes); --l2 makes a new L2 under the customer's L1 and re-wraps every L3 under it."
      })
  static final class RotateCmd implements Callable<Integer> {
    @Mixin CoreTarget target;

    @Option(names = "--tenant", required = true, description = "The tenant.")
    String tenant;

    @picocli.CommandLine.ArgGroup(exclusive = true, multiplicity = "1")
    Which which;

    static final class Which {
      @Option(names = "--service", description = "Rotate this service's L3.")
      String service;

      @Option(names = "--l2", description = "Rotate the tenant's L2.")
      boolean l2;
    }

    @Option(
        names = "--by",
        defaultValue = "${sys:user.name}",
        description = "Who rotates (default: ${DEFAULT-VALUE}).")
    String by;

    @Override
    public Integer call() {
      RotateKeyRequest.Builder r =
          RotateKeyRequest.newBuilder().setTenantId(tenant).setRequestedBy(by);
      if (which.l2) {
        return target.call(admin -> admin.rotateTenantKey(r.build()));
      }
      return target.call(admin -> admin.rotateServiceKey(r.setServiceId(which.service).build()));
    }
  }

  @Command(
      name = "retire",
      mixinStandardHelpOptions = true,
      description = {
        "Retire old key versions: every L3 version of the service below --below is destroyed (gone",
        "from memory, journal and snapshots); envelopes under them answer KEY_VERSION_RETIRED. The",
        "answer lists each retired version with the SHA-256 of its destroyed blob."
      })
  static final class ServiceRetire implements Callable<Integer> {
    @Mixin CoreTarget target;

    @Option(names = "--tenant", required = true, description = "Tenant id.")
    String tenant;

    @Option(names = "--service", required = true, description = "Service id.")
    String service;

    @Option(
        names = "--below",
        required = true,
        description = "Destroy every L3 version below this one (never the active version).")
    int below;

    @Option(
        names = "--by",
        defaultValue = "${sys:user.name}",
        description = "Who retires (default: ${DEFAULT-VALUE}).")
    String by;

    @Override
    public Integer call() {
      return target.call(
          admin ->
              admin.retireServiceKeys(
                  RetireKeysRequest.newBuilder()
                      .setTenantId(tenant)
                      .setServiceId(service)
                      .setBelow(below)
                      .setRequestedBy(by)
                      .build()));
    }
  }

  @Command(
      name = "offboard",
      mixinStandardHelpOptions = true,
      description = {
        "Offboard a tenant: every L2 and L3 version is destroyed (memory, journal, snapshots;",
        "gateways drop its vault keys). Prints a destruction receipt. Afterwards every call answers",
        "TENANT_OFFBOARDED; the id comes back only with tenant create --reuse-offboarded-id."
      })
  static final class TenantOffboard implements Callable<Integer> {
    @Mixin CoreTarget target;

    @Option(names = "--tenant", required = true, description = "Tenant id.")
    String tenant;

    @Option(names = "--reason", required = true, description = "Why (on the receipt).")
    String reason;

    @Option(
        names = "--by",
        defaultValue = "${sys:user.name}",
        description = "Who offboards (default: ${DEFAULT-VALUE}).")
    String by;

    @Override
    public Integer call() {
      return target.callAdmin(
          admin ->
              admin.offboardTenant(
                  OffboardTenantRequest.newBuilder()
                      .setTenantId(tenant)
                      .setReason(reason)
                      .setRequestedBy(by)
                      .build()),
          LifecycleCommands::receiptJson);
    }
  }

  @Command(
      name = "rewrap-l2",
      mixinStandardHelpOptions = true,
      description = {
        "After the customer rotated its L1's key material: L2 is unwrapped by the current L1 and",
        "wrapped again (a round trip proves it); the blob under the old material is deleted."
      })
  static final class TenantRewrapL2 implements Callable<Integer> {
    @Mixin CoreTarget target;

    @Option(names = "--tenant", required = true, description = "Tenant id.")
    String tenant;

    @Option(
        names = "--by",
        defaultValue = "${sys:user.name}",
        description = "Who asks (default: ${DEFAULT-VALUE}).")
    String by;

    @Override
    public Integer call() {
      return target.call(
          admin ->
              admin.rewrapTenantKey(
                  RotateKeyRequest.newBuilder().setTenantId(tenant).setRequestedBy(by).build()));
    }
  }

  @Command(
      name = "rotation-policy",
      mixinStandardHelpOptions = true,
      description = {
        "The tenant's own cryptoperiods over the configured defaults: --service S --l3-max-age D",
        "for one service, or without --service the tenant's --l3-max-age and --l2-max-age",
        "(durations like 90d, 12h; at least 1h). Versions older than that rotate at once."
      })
  static final class RotationPolicyCmd implements Callable<Integer> {
    @Mixin CoreTarget target;

    @Option(names = "--tenant", required = true, description = "Tenant id.")
    String tenant;

    @Option(names = "--service", description = "One service (else the tenant's defaults).")
    String service;

    @Option(names = "--l3-max-age", description = "L3 cryptoperiod, e.g. 30d.")
    String l3MaxAge;

    @Option(names = "--l2-max-age", description = "L2 cryptoperiod, e.g. 180d (tenant only).")
    String l2MaxAge;

    @Option(
        names = "--by",
        defaultValue = "${sys:user.name}",
        description = "Who sets it (default: ${DEFAULT-VALUE}).")
    String by;

    @Override
    public Integer call() {
      return target.call(
          admin ->
              admin.setRotationPolicy(
                  org.openkcm.protocol.admin.v1.RotationPolicyRequest.newBuilder()
                      .setTenantId(tenant)
                      .setServiceId(service == null ? "" : service)
                      .setL3MaxAge(l3MaxAge == null ? "" : l3MaxAge)
                      .setL2MaxAge(l2MaxAge == null ? "" : l2MaxAge)
                      .setRequestedBy(by)
                      .build()));
    }
  }

  static Map<String, Object> receiptJson(OffboardReceipt r) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("receipt", "destruction");
    out.put("tenant", r.getTenantId());
    out.put("at", r.getAt());
    out.put("by", r.getBy());
    out.put("reason", r.getReason());
    List<Map<String, Object>> destroyed = new ArrayList<>();
    r.getDestroyedList()
        .forEach(
            d -> {
              Map<String, Object> one = new LinkedHashMap<>();
              one.put("kind", d.getKind());
              if (!d.getServiceId().isEmpty()) {
                one.put("service", d.getServiceId());
              }
              one.put("version", d.getVersion());
              one.put("sha256", d.getSha256());
              destroyed.add(one);
            });
    out.put("destroyed", destroyed);
    return out;
  }
}
