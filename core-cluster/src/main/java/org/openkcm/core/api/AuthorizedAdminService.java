package org.openkcm.core.api;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.openkcm.node.authz.Authorizer;
import org.openkcm.node.authz.Authorizer.Resource;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.admin.v1.AdminService;
import org.openkcm.protocol.admin.v1.AdminServicePowerApi;
import org.openkcm.protocol.admin.v1.ApproveL1LinkRequest;
import org.openkcm.protocol.admin.v1.CheckL1Request;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.InitSealReply;
import org.openkcm.protocol.admin.v1.InitSealRequest;
import org.openkcm.protocol.admin.v1.KillSwitchRequest;
import org.openkcm.protocol.admin.v1.KillSwitchState;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.admin.v1.LinkL1Request;
import org.openkcm.protocol.admin.v1.OffboardReceipt;
import org.openkcm.protocol.admin.v1.OffboardTenantRequest;
import org.openkcm.protocol.admin.v1.RetireKeysRequest;
import org.openkcm.protocol.admin.v1.ReviveTenantRequest;
import org.openkcm.protocol.admin.v1.RotateKeyRequest;
import org.openkcm.protocol.admin.v1.RotationPolicyRequest;
import org.openkcm.protocol.admin.v1.SealRequest;
import org.openkcm.protocol.admin.v1.SealStatusReply;
import org.openkcm.protocol.admin.v1.TenantInfo;
import org.openkcm.protocol.admin.v1.UnsealRequest;
import org.openkcm.protocol.error.Fields;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * The edge of {@link AdminService}: field checks (correlation ids, free text that reaches the
 * journal and the logs; INVALID_ARGUMENT naming the field), then the authorization policy (see
 * {@link AuthorizedCoreKeyService}). Resources: the tenant for tenant calls, {@code
 * KillSwitch::"global"} or {@code KillSwitch::"region/<name>"} for the kill-switch, {@code
 * Seal::"core"} for seal calls. With an identity, "requested by" in kill and revive records is the
 * verified identity (the name the client typed follows in parentheses).
 */
public final class AuthorizedAdminService implements AdminServicePowerApi {

  private static final Resource SEAL = new Resource("Seal", "core");

  private final AdminService service;
  private final Optional<Authorizer> authz;

  private final Optional<HomeForwarder> forwarder;
  private final OnBehalf onBehalf;
  private final SealMigrationGate migrationGate;

  public AuthorizedAdminService(AdminService service, Optional<Authorizer> authz) {
    this(
        service,
        authz,
        Optional.empty(),
        org.openkcm.core.cluster.PeerRegions.NONE,
        new SealMigrationGate(
            false, java.time.Duration.ofMinutes(10), java.time.Clock.systemUTC()));
  }

  AuthorizedAdminService(
      AdminService service,
      Optional<Authorizer> authz,
      Optional<HomeForwarder> forwarder,
      org.openkcm.core.cluster.PeerRegions peers,
      SealMigrationGate migrationGate) {
    this.service = service;
    this.authz = authz;
    this.forwarder = forwarder;
    this.onBehalf = new OnBehalf(peers);
    this.migrationGate = migrationGate;
  }

  /**
   * {@code local}, and when it answers NOT_HOME_REGION and the tenant's home region is reachable,
   * {@code remote} there on behalf of the operator (multi-region forwarding of lifecycle writes).
   */
  private <T> CompletionStage<T> homeOr(
      String tenantId,
      Metadata md,
      Supplier<CompletionStage<T>> local,
      java.util.function.BiFunction<
              org.openkcm.protocol.admin.v1.AdminServiceClient,
              Optional<String>,
              CompletionStage<T>>
          remote) {
    return local
        .get()
        .exceptionallyCompose(
            failure -> {
              OpenKcmException e = org.openkcm.protocol.error.GrpcErrors.fromGrpc(failure);
              if (e.reason() != org.openkcm.protocol.error.ErrorReason.NOT_HOME_REGION
                  || forwarder.isEmpty()
                  // a call forwarded here is never forwarded on (no relaying through regions)
                  || md.getText(PeerIdentity.ON_BEHALF).isPresent()) {
                return java.util.concurrent.CompletableFuture.failedFuture(failure);
              }
              Optional<String> operator = onBehalf.actingAdmitted(md).map(SpiffeId::uri);
              return service
                  .getTenant(GetTenantRequest.newBuilder().setTenantId(tenantId).build())
                  .thenCompose(
                      info ->
                          forwarder.get().reaches(info.getHomeRegion())
                              ? forwarder.get().forward(info.getHomeRegion(), operator, remote)
                              : java.util.concurrent.CompletableFuture.<T>failedFuture(failure));
            });
  }

  private <T> CompletionStage<T> checked(
      Metadata md,
      String action,
      Resource resource,
      String cid,
      Supplier<CompletionStage<T>> call) {
    return fields(
        () -> Fields.correlationId("correlation_id", cid),
        () -> {
          Optional<SpiffeId> who;
          try {
            who = onBehalf.acting(md, action);
          } catch (OpenKcmException e) {
            return CoreKeyServiceImpl.failed(e);
          }
          return new org.openkcm.node.authz.Guard(authz)
              .call(who, action, new org.openkcm.node.authz.Guard.Scope(resource, ""), cid, call);
        });
  }

  /** Free-text fields that end up in the journal and the logs. */
  private static <T> CompletionStage<T> fields(Runnable checks, Supplier<CompletionStage<T>> call) {
    try {
      checks.run();
    } catch (OpenKcmException e) {
      return CoreKeyServiceImpl.failed(e);
    }
    return call.get();
  }

  /**
   * Who acts, for four-eyes rules: the verified certificate identity alone when there is one (a
   * claimed name must not make one identity look like two); the claimed name only on a plaintext
   * test node.
   */
  private static String identity(Metadata md, String claimed) {
    return PeerIdentity.of(md).map(SpiffeId::uri).orElse(claimed);
  }

  private String requestedBy(Metadata md, String claimed) {
    Optional<SpiffeId> who = onBehalf.actingAdmitted(md);
    if (who.isEmpty()) {
      return claimed;
    }
    return claimed.isBlank() || claimed.equals(who.get().uri())
        ? who.get().uri()
        : who.get().uri() + " (" + claimed + ")";
  }

  private static void killSwitchFields(KillSwitchRequest in) {
    Fields.text("scope", in.getScope(), 128);
    Fields.text("reason", in.getReason(), 512);
    Fields.text("requested_by", in.getRequestedBy(), 256);
  }

  private static Resource killSwitch(KillSwitchRequest in) {
    return new Resource("KillSwitch", in.getScope().replaceFirst("^region:", "region/"));
  }

  @Override
  public CompletionStage<TenantInfo> createTenant(CreateTenantRequest in, Metadata md) {
    return fields(
        () -> Fields.requiredText("l1_reference", in.getL1Reference(), 2048),
        () ->
            checked(
                md,
                "CreateTenant",
                Resource.tenant(in.getTenantId()),
                in.getCorrelationId(),
                () -> service.createTenant(in)));
  }

  @Override
  public CompletionStage<OffboardReceipt> offboardTenant(OffboardTenantRequest in, Metadata md) {
    return fields(
        () -> {
          Fields.text("reason", in.getReason(), 512);
          Fields.text("requested_by", in.getRequestedBy(), 256);
        },
        () ->
            checked(
                md,
                "OffboardTenant",
                Resource.tenant(in.getTenantId()),
                in.getCorrelationId(),
                () ->
                    service.offboardTenant(
                        in.toBuilder()
                            .setRequestedBy(requestedBy(md, in.getRequestedBy()))
                            .build())));
  }

  @Override
  public CompletionStage<TenantInfo> createService(CreateServiceRequest in, Metadata md) {
    return checked(
        md,
        "CreateService",
        Resource.tenant(in.getTenantId()),
        in.getCorrelationId(),
        () ->
            homeOr(
                in.getTenantId(),
                md,
                () -> service.createService(in),
                (c, who) -> HomeForwarder.onBehalf(c.createService(), who).invoke(in)));
  }

  @Override
  public CompletionStage<TenantInfo> getTenant(GetTenantRequest in, Metadata md) {
    return checked(
        md, "GetTenant", Resource.tenant(in.getTenantId()), "", () -> service.getTenant(in));
  }

  @Override
  public CompletionStage<TenantInfo> checkL1(CheckL1Request in, Metadata md) {
    return checked(
        md,
        "CheckL1",
        Resource.tenant(in.getTenantId()),
        in.getCorrelationId(),
        () -> service.checkL1(in));
  }

  @Override
  public CompletionStage<TenantInfo> requestL1Link(LinkL1Request in, Metadata md) {
    return fields(
        () -> {
          Fields.requiredText("l1_reference", in.getL1Reference(), 2048);
          Fields.text("requested_by", in.getRequestedBy(), 256);
        },
        () ->
            checked(
                md,
                "RequestL1Link",
                Resource.tenant(in.getTenantId()),
                in.getCorrelationId(),
                () ->
                    service.requestL1Link(
                        in.toBuilder().setRequestedBy(identity(md, in.getRequestedBy())).build())));
  }

  @Override
  public CompletionStage<org.openkcm.protocol.admin.v1.MigrateSealReply> migrateSeal(
      org.openkcm.protocol.admin.v1.MigrateSealRequest in, Metadata md) {
    return checked(
        md,
        "MigrateSeal",
        SEAL,
        in.getCorrelationId(),
        () -> {
          Optional<String> waiting;
          try {
            waiting = migrationGate.admit(PeerIdentity.of(md), in.getTenantId());
          } catch (OpenKcmException e) {
            return CompletableFuture.failedFuture(GrpcErrors.toGrpc(e));
          }
          return waiting.isPresent()
              ? CompletableFuture.completedFuture(
                  org.openkcm.protocol.admin.v1.MigrateSealReply.newBuilder()
                      .setAwaitingSecondIdentity(waiting.get())
                      .build())
              : service.migrateSeal(in);
        });
  }

  @Override
  public CompletionStage<TenantInfo> approveL1Link(ApproveL1LinkRequest in, Metadata md) {
    return fields(
        () -> {
          Fields.requiredText("request_id", in.getRequestId(), 128);
          Fields.text("approved_by", in.getApprovedBy(), 256);
        },
        () ->
            checked(
                md,
                "ApproveL1Link",
                Resource.tenant(in.getTenantId()),
                in.getCorrelationId(),
                () ->
                    service.approveL1Link(
                        in.toBuilder().setApprovedBy(identity(md, in.getApprovedBy())).build())));
  }

  @Override
  public CompletionStage<TenantInfo> killTenant(KillTenantRequest in, Metadata md) {
    return fields(
        () -> {
          Fields.text("reason", in.getReason(), 512);
          Fields.text("requested_by", in.getRequestedBy(), 256);
        },
        () ->
            checked(
                md,
                "KillTenant",
                Resource.tenant(in.getTenantId()),
                in.getCorrelationId(),
                () ->
                    service.killTenant(
                        in.toBuilder()
                            .setRequestedBy(requestedBy(md, in.getRequestedBy()))
                            .build())));
  }

  @Override
  public CompletionStage<TenantInfo> rotateServiceKey(RotateKeyRequest in, Metadata md) {
    return rotate(
        "RotateServiceKey", in, md, service::rotateServiceKey, (c, r) -> c.rotateServiceKey());
  }

  @Override
  public CompletionStage<TenantInfo> setRotationPolicy(RotationPolicyRequest in, Metadata md) {
    return fields(
        () -> {
          Fields.text("requested_by", in.getRequestedBy(), 256);
          Fields.text("l3_max_age", in.getL3MaxAge(), 32);
          Fields.text("l2_max_age", in.getL2MaxAge(), 32);
        },
        () ->
            checked(
                md,
                "SetRotationPolicy",
                Resource.tenant(in.getTenantId()),
                in.getCorrelationId(),
                () ->
                    service.setRotationPolicy(
                        in.toBuilder()
                            .setRequestedBy(requestedBy(md, in.getRequestedBy()))
                            .build())));
  }

  @Override
  public CompletionStage<TenantInfo> rewrapTenantKey(RotateKeyRequest in, Metadata md) {
    return rotate(
        "RewrapTenantKey", in, md, service::rewrapTenantKey, (c, r) -> c.rewrapTenantKey());
  }

  @Override
  public CompletionStage<TenantInfo> rotateTenantKey(RotateKeyRequest in, Metadata md) {
    return rotate(
        "RotateTenantKey", in, md, service::rotateTenantKey, (c, r) -> c.rotateTenantKey());
  }

  @Override
  public CompletionStage<TenantInfo> retireServiceKeys(RetireKeysRequest in, Metadata md) {
    return fields(
        () -> Fields.text("requested_by", in.getRequestedBy(), 256),
        () ->
            checked(
                md,
                "RetireServiceKeys",
                Resource.tenant(in.getTenantId()),
                in.getCorrelationId(),
                () ->
                    service.retireServiceKeys(
                        in.toBuilder()
                            .setRequestedBy(requestedBy(md, in.getRequestedBy()))
                            .build())));
  }

  private CompletionStage<TenantInfo> rotate(
      String action,
      RotateKeyRequest in,
      Metadata md,
      java.util.function.Function<RotateKeyRequest, CompletionStage<TenantInfo>> call,
      java.util.function.BiFunction<
              org.openkcm.protocol.admin.v1.AdminServiceClient,
              RotateKeyRequest,
              org.apache.pekko.grpc.javadsl.SingleResponseRequestBuilder<
                  RotateKeyRequest, TenantInfo>>
          remote) {
    return fields(
        () -> Fields.text("requested_by", in.getRequestedBy(), 256),
        () ->
            checked(
                md,
                action,
                Resource.tenant(in.getTenantId()),
                in.getCorrelationId(),
                () ->
                    homeOr(
                        in.getTenantId(),
                        md,
                        () ->
                            call.apply(
                                in.toBuilder()
                                    .setRequestedBy(requestedBy(md, in.getRequestedBy()))
                                    .build()),
                        (c, who) -> HomeForwarder.onBehalf(remote.apply(c, in), who).invoke(in))));
  }

  @Override
  public CompletionStage<TenantInfo> reviveTenant(ReviveTenantRequest in, Metadata md) {
    return fields(
        () -> Fields.text("requested_by", in.getRequestedBy(), 256),
        () ->
            checked(
                md,
                "ReviveTenant",
                Resource.tenant(in.getTenantId()),
                in.getCorrelationId(),
                () ->
                    service.reviveTenant(
                        in.toBuilder()
                            .setRequestedBy(requestedBy(md, in.getRequestedBy()))
                            .build())));
  }

  @Override
  public CompletionStage<KillSwitchState> engageKillSwitch(KillSwitchRequest in, Metadata md) {
    return fields(
        () -> killSwitchFields(in),
        () ->
            checked(
                md,
                "EngageKillSwitch",
                killSwitch(in),
                "",
                () ->
                    service.engageKillSwitch(
                        in.toBuilder()
                            .setRequestedBy(requestedBy(md, in.getRequestedBy()))
                            .build())));
  }

  @Override
  public CompletionStage<KillSwitchState> releaseKillSwitch(KillSwitchRequest in, Metadata md) {
    return fields(
        () -> killSwitchFields(in),
        () ->
            checked(
                md,
                "ReleaseKillSwitch",
                killSwitch(in),
                "",
                () ->
                    service.releaseKillSwitch(
                        in.toBuilder()
                            .setRequestedBy(requestedBy(md, in.getRequestedBy()))
                            .build())));
  }

  @Override
  public CompletionStage<KillSwitchState> getKillSwitch(KillSwitchRequest in, Metadata md) {
    return fields(
        () -> killSwitchFields(in),
        () -> checked(md, "GetKillSwitch", killSwitch(in), "", () -> service.getKillSwitch(in)));
  }

  @Override
  public CompletionStage<SealStatusReply> sealStatus(SealRequest in, Metadata md) {
    return checked(md, "SealStatus", SEAL, "", () -> service.sealStatus(in));
  }

  @Override
  public CompletionStage<InitSealReply> initSeal(InitSealRequest in, Metadata md) {
    return fields(
        () -> Fields.text("requested_by", in.getRequestedBy(), 256),
        () ->
            checked(
                md,
                "InitSeal",
                SEAL,
                "",
                // the record names who the certificate says, not what the request claims
                () ->
                    service.initSeal(
                        in.toBuilder().setRequestedBy(identity(md, in.getRequestedBy())).build())));
  }

  @Override
  public CompletionStage<SealStatusReply> unseal(UnsealRequest in, Metadata md) {
    return fields(
        () -> {
          Fields.text("requested_by", in.getRequestedBy(), 256);
          Fields.requiredText("share", in.getShare(), 4096);
        },
        () ->
            checked(
                md,
                "Unseal",
                SEAL,
                "",
                () ->
                    service.unseal(
                        in.toBuilder()
                            .setRequestedBy(identity(md, in.getRequestedBy()))
                            .build()))); // one pending share per verified operator
  }

  @Override
  public CompletionStage<SealStatusReply> seal(SealRequest in, Metadata md) {
    return fields(
        () -> Fields.text("requested_by", in.getRequestedBy(), 256),
        () ->
            checked(
                md,
                "Seal",
                SEAL,
                "",
                () ->
                    service.seal(
                        in.toBuilder().setRequestedBy(identity(md, in.getRequestedBy())).build())));
  }
}
