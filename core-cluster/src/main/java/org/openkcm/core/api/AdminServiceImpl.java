package org.openkcm.core.api;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.pattern.StatusReply;
import org.openkcm.core.killswitch.KillScope;
import org.openkcm.core.killswitch.KillSwitchEntity;
import org.openkcm.core.seal.SealService;
import org.openkcm.core.tenant.LifecycleProtocol;
import org.openkcm.core.tenant.TenantEntity;
import org.openkcm.core.tenant.TenantSummary;
import org.openkcm.protocol.admin.v1.AdminService;
import org.openkcm.protocol.admin.v1.ApproveL1LinkRequest;
import org.openkcm.protocol.admin.v1.CheckL1Request;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.DestroyedKey;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.InitSealReply;
import org.openkcm.protocol.admin.v1.InitSealRequest;
import org.openkcm.protocol.admin.v1.KeyVersionInfo;
import org.openkcm.protocol.admin.v1.KillSwitchEntry;
import org.openkcm.protocol.admin.v1.KillSwitchRequest;
import org.openkcm.protocol.admin.v1.KillSwitchState;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.admin.v1.LinkL1Request;
import org.openkcm.protocol.admin.v1.MigrateSealReply;
import org.openkcm.protocol.admin.v1.MigrateSealRequest;
import org.openkcm.protocol.admin.v1.OffboardReceipt;
import org.openkcm.protocol.admin.v1.OffboardTenantRequest;
import org.openkcm.protocol.admin.v1.RetireKeysRequest;
import org.openkcm.protocol.admin.v1.ReviveTenantRequest;
import org.openkcm.protocol.admin.v1.RotateKeyRequest;
import org.openkcm.protocol.admin.v1.RotationPolicyRequest;
import org.openkcm.protocol.admin.v1.SealRequest;
import org.openkcm.protocol.admin.v1.SealStatusReply;
import org.openkcm.protocol.admin.v1.ServiceInfo;
import org.openkcm.protocol.admin.v1.TenantInfo;
import org.openkcm.protocol.admin.v1.UnsealRequest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;

/** Governance API: onboarding tenants and creating their services. Never sees plaintext keys. */
public final class AdminServiceImpl implements AdminService {

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final Duration askTimeout;
  private final ActorRef<KillSwitchEntity.Command> killSwitch;
  private final String region;

  private final SealService seal;

  public AdminServiceImpl(
      ActorSystem<?> system,
      Duration askTimeout,
      ActorRef<KillSwitchEntity.Command> killSwitch,
      String region,
      SealService seal) {
    this.seal = seal;
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.askTimeout = askTimeout;
    this.killSwitch = killSwitch;
    this.region = region;
  }

  @Override
  public CompletionStage<SealStatusReply> sealStatus(SealRequest in) {
    return sealReply(seal.status());
  }

  @Override
  public CompletionStage<InitSealReply> initSeal(InitSealRequest in) {
    return seal.initShamir(in.getShares(), in.getThreshold(), in.getRequestedBy())
        .thenCompose(
            shares ->
                seal.status()
                    .thenApply(
                        st ->
                            InitSealReply.newBuilder()
                                .addAllShares(shares)
                                .setStatus(toProto(st))
                                .build()))
        .exceptionally(
            failure -> {
              throw GrpcErrors.toGrpc(org.openkcm.core.reply.Rejections.parse(failure));
            });
  }

  @Override
  public CompletionStage<SealStatusReply> unseal(UnsealRequest in) {
    return sealReply(seal.submitShare(in.getShare(), in.getRequestedBy()));
  }

  @Override
  public CompletionStage<SealStatusReply> seal(SealRequest in) {
    return sealReply(seal.seal(in.getRequestedBy()));
  }

  private CompletionStage<SealStatusReply> sealReply(CompletionStage<SealService.Status> status) {
    return status.handle(
        (st, failure) -> {
          if (failure != null) {
            throw GrpcErrors.toGrpc(org.openkcm.core.reply.Rejections.parse(failure));
          }
          return toProto(st);
        });
  }

  private SealStatusReply toProto(SealService.Status st) {
    return SealStatusReply.newBuilder()
        .setSealed(st.sealed())
        .setInitialised(st.initialised())
        .setMode(st.mode())
        .setThreshold(st.threshold())
        .setShares(st.shares())
        .setProgress(st.progress())
        .setNode(system.address().toString())
        .build();
  }

  @Override
  public CompletionStage<TenantInfo> killTenant(KillTenantRequest in) {
    return ask(
        in.getTenantId(),
        Optional.empty(),
        replyTo ->
            new TenantEntity.Kill(
                in.getReason(), in.getRequestedBy(), in.getCorrelationId(), replyTo));
  }

  @Override
  public CompletionStage<TenantInfo> reviveTenant(ReviveTenantRequest in) {
    return ask(
        in.getTenantId(),
        Optional.empty(),
        replyTo -> new TenantEntity.Revive(in.getRequestedBy(), in.getCorrelationId(), replyTo));
  }

  @Override
  public CompletionStage<KillSwitchState> engageKillSwitch(KillSwitchRequest in) {
    return clusterWideScope(in.getScope())
        .thenCompose(
            scope ->
                askKillSwitch(
                    replyTo ->
                        new KillSwitchEntity.Engage(
                            scope, in.getReason(), in.getRequestedBy(), "", replyTo)));
  }

  @Override
  public CompletionStage<KillSwitchState> releaseKillSwitch(KillSwitchRequest in) {
    return clusterWideScope(in.getScope())
        .thenCompose(
            scope ->
                askKillSwitch(
                    replyTo ->
                        new KillSwitchEntity.Release(
                            scope, in.getRequestedBy(), java.util.List.of(), replyTo)));
  }

  private static CompletionStage<KillScope> clusterWideScope(String text) {
    try {
      return CompletableFuture.completedFuture(KillScope.parseClusterWide(text));
    } catch (IllegalArgumentException e) {
      return CompletableFuture.failedFuture(
          GrpcErrors.toGrpc(new OpenKcmException(ErrorReason.INVALID_ARGUMENT, e.getMessage())));
    }
  }

  @Override
  public CompletionStage<KillSwitchState> getKillSwitch(KillSwitchRequest in) {
    return askKillSwitch(KillSwitchEntity.Get::new);
  }

  private CompletionStage<KillSwitchState> askKillSwitch(
      Function<ActorRef<StatusReply<KillSwitchEntity.State>>, KillSwitchEntity.Command> command) {
    return AskPattern.<KillSwitchEntity.Command, KillSwitchEntity.State>askWithStatus(
            killSwitch, command::apply, askTimeout, system.scheduler())
        .handle(
            (state, failure) -> {
              if (failure != null) {
                throw GrpcErrors.toGrpc(org.openkcm.core.reply.Rejections.parse(failure));
              }
              KillSwitchState.Builder b = KillSwitchState.newBuilder().setRegion(region);
              state
                  .engaged()
                  .values()
                  .forEach(
                      k ->
                          b.addEngaged(
                              KillSwitchEntry.newBuilder()
                                  .setScope(k.scope().asString())
                                  .setReason(k.reason())
                                  .setRequestedBy(k.by())
                                  .setSince(k.since().toString())));
              return b.build();
            });
  }

  @Override
  public CompletionStage<TenantInfo> createTenant(CreateTenantRequest in) {
    return ask(
        in.getTenantId(),
        Optional.empty(),
        replyTo ->
            in.getReuseOffboardedId()
                ? new LifecycleProtocol.ReuseOffboardedId(
                    in.getL1Reference(), in.getCorrelationId(), replyTo)
                : new TenantEntity.Onboard(in.getL1Reference(), in.getCorrelationId(), replyTo));
  }

  @Override
  public CompletionStage<OffboardReceipt> offboardTenant(OffboardTenantRequest in) {
    Optional<OpenKcmException> invalid =
        CoreKeyServiceImpl.checkIds(in.getTenantId(), Optional.empty());
    if (invalid.isPresent()) {
      return CoreKeyServiceImpl.failed(invalid.get());
    }
    return sharding
        .entityRefFor(TenantEntity.ENTITY_KEY, in.getTenantId())
        .<org.openkcm.core.tenant.Offboarding.Receipt>askWithStatus(
            replyTo ->
                new LifecycleProtocol.Offboard(
                    in.getReason(), in.getRequestedBy(), in.getCorrelationId(), replyTo),
            askTimeout)
        .handle(
            (r, failure) -> {
              if (failure != null) {
                throw GrpcErrors.toGrpc(org.openkcm.core.reply.Rejections.parse(failure));
              }
              OffboardReceipt.Builder b =
                  OffboardReceipt.newBuilder()
                      .setTenantId(r.tenantId())
                      .setAt(r.at().toString())
                      .setBy(r.by())
                      .setReason(r.reason());
              r.destroyed()
                  .forEach(
                      d ->
                          b.addDestroyed(
                              DestroyedKey.newBuilder()
                                  .setKind(d.kind())
                                  .setServiceId(d.serviceId())
                                  .setVersion((int) d.version())
                                  .setSha256(d.sha256())));
              return b.build();
            });
  }

  @Override
  public CompletionStage<TenantInfo> createService(CreateServiceRequest in) {
    return ask(
        in.getTenantId(),
        Optional.of(in.getServiceId()),
        replyTo ->
            new TenantEntity.CreateService(
                in.getServiceId(), in.getPinned(), in.getCorrelationId(), replyTo));
  }

  @Override
  public CompletionStage<TenantInfo> getTenant(GetTenantRequest in) {
    return ask(in.getTenantId(), Optional.empty(), TenantEntity.GetSummary::new);
  }

  @Override
  public CompletionStage<TenantInfo> rotateServiceKey(RotateKeyRequest in) {
    return ask(
        in.getTenantId(),
        Optional.of(in.getServiceId()),
        replyTo ->
            new LifecycleProtocol.RotateService(
                in.getServiceId(), in.getRequestedBy(), in.getCorrelationId(), replyTo));
  }

  @Override
  public CompletionStage<TenantInfo> retireServiceKeys(RetireKeysRequest in) {
    return ask(
        in.getTenantId(),
        Optional.of(in.getServiceId()),
        replyTo ->
            new LifecycleProtocol.RetireVersions(
                in.getServiceId(),
                in.getBelow(),
                in.getRequestedBy(),
                in.getCorrelationId(),
                replyTo));
  }

  @Override
  public CompletionStage<TenantInfo> setRotationPolicy(RotationPolicyRequest in) {
    Optional<java.time.Duration> l3;
    Optional<java.time.Duration> l2;
    try {
      l3 = maxAge("l3_max_age", in.getL3MaxAge());
      l2 = maxAge("l2_max_age", in.getL2MaxAge());
    } catch (OpenKcmException e) {
      return CoreKeyServiceImpl.failed(e);
    }
    return ask(
        in.getTenantId(),
        in.getServiceId().isEmpty() ? Optional.empty() : Optional.of(in.getServiceId()),
        replyTo ->
            new LifecycleProtocol.SetRotationPolicy(
                in.getServiceId(), l3, l2, in.getRequestedBy(), in.getCorrelationId(), replyTo));
  }

  /** A duration like "90d" or "12h" (HOCON's forms); empty when not given. */
  private static Optional<java.time.Duration> maxAge(String field, String text) {
    if (text.isBlank()) {
      return Optional.empty();
    }
    try {
      return Optional.of(
          com.typesafe.config.ConfigFactory.parseMap(java.util.Map.of("d", text.strip()))
              .getDuration("d"));
    } catch (com.typesafe.config.ConfigException e) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          field
              + " is a duration like 90d or 12h, was '"
              + org.openkcm.protocol.error.Fields.safe(text)
              + "'");
    }
  }

  @Override
  public CompletionStage<TenantInfo> rewrapTenantKey(RotateKeyRequest in) {
    return ask(
        in.getTenantId(),
        Optional.empty(),
        replyTo ->
            new LifecycleProtocol.RewrapL2(in.getRequestedBy(), in.getCorrelationId(), replyTo));
  }

  @Override
  public CompletionStage<TenantInfo> rotateTenantKey(RotateKeyRequest in) {
    return ask(
        in.getTenantId(),
        Optional.empty(),
        replyTo ->
            new LifecycleProtocol.RotateL2(in.getRequestedBy(), in.getCorrelationId(), replyTo));
  }

  @Override
  public CompletionStage<TenantInfo> checkL1(CheckL1Request in) {
    return ask(
        in.getTenantId(),
        Optional.empty(),
        replyTo -> new TenantEntity.CheckL1(in.getCorrelationId(), replyTo));
  }

  @Override
  public CompletionStage<TenantInfo> requestL1Link(LinkL1Request in) {
    return ask(
        in.getTenantId(),
        Optional.empty(),
        replyTo ->
            new TenantEntity.RequestL1Link(
                in.getL1Reference(), in.getRequestedBy(), in.getCorrelationId(), replyTo));
  }

  @Override
  public CompletionStage<TenantInfo> approveL1Link(ApproveL1LinkRequest in) {
    return ask(
        in.getTenantId(),
        Optional.empty(),
        replyTo ->
            new TenantEntity.ApproveL1Link(
                in.getRequestId(), in.getApprovedBy(), in.getCorrelationId(), replyTo));
  }

  @Override
  public CompletionStage<MigrateSealReply> migrateSeal(MigrateSealRequest in) {
    if (!in.getTenantId().isEmpty()) {
      Optional<OpenKcmException> invalid =
          CoreKeyServiceImpl.checkIds(in.getTenantId(), Optional.empty());
      if (invalid.isPresent()) {
        return CoreKeyServiceImpl.failed(invalid.get());
      }
    }
    org.apache.pekko.stream.javadsl.Source<String, org.apache.pekko.NotUsed> tenants =
        in.getTenantId().isEmpty()
            ? org.apache.pekko.persistence.query.PersistenceQuery.get(system)
                .getReadJournalFor(
                    org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal.class,
                    org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal.Identifier())
                .currentPersistenceIds()
                .filter(id -> id.startsWith(TenantEntity.ENTITY_KEY.name() + "|"))
                .map(id -> id.substring(TenantEntity.ENTITY_KEY.name().length() + 1))
            : org.apache.pekko.stream.javadsl.Source.single(in.getTenantId());
    return tenants
        .mapAsync(
            1,
            tenant ->
                sharding
                    .entityRefFor(TenantEntity.ENTITY_KEY, tenant)
                    .<Integer>askWithStatus(
                        replyTo -> new TenantEntity.MigrateSeal(in.getCorrelationId(), replyTo),
                        askTimeout)
                    .thenApply(n -> java.util.Map.entry(tenant, n)))
        .runFold(
            MigrateSealReply.newBuilder(),
            (b, done) -> {
              b.setTenants(b.getTenants() + 1);
              if (done.getValue() > 0) {
                b.addMigrated(done.getKey()).setBlobsSealed(b.getBlobsSealed() + done.getValue());
              }
              return b;
            },
            system)
        .handle(
            (b, failure) -> {
              if (failure != null) {
                throw GrpcErrors.toGrpc(org.openkcm.core.reply.Rejections.parse(failure));
              }
              return b.build();
            });
  }

  private CompletionStage<TenantInfo> ask(
      String tenantId,
      Optional<String> serviceId,
      Function<ActorRef<StatusReply<TenantSummary>>, TenantEntity.Command> command) {
    Optional<OpenKcmException> invalid = CoreKeyServiceImpl.checkIds(tenantId, serviceId);
    if (invalid.isPresent()) {
      return CoreKeyServiceImpl.failed(invalid.get());
    }
    return sharding
        .entityRefFor(TenantEntity.ENTITY_KEY, tenantId)
        .askWithStatus(command::apply, askTimeout)
        .handle(
            (summary, failure) -> {
              if (failure != null) {
                throw GrpcErrors.toGrpc(org.openkcm.core.reply.Rejections.parse(failure));
              }
              return toProto(summary);
            });
  }

  private static TenantInfo toProto(TenantSummary s) {
    TenantInfo.Builder b =
        TenantInfo.newBuilder()
            .setTenantId(s.tenantId())
            .setL1Reference(s.l1Reference())
            .setL2Version((int) s.l2Version())
            .setStatus(s.status().id())
            .setUnsealed(s.unsealed());
    b.setNode(s.node());
    s.killed()
        .ifPresent(
            k ->
                b.setKillScope(k.scope().asString())
                    .setKillReason(k.reason())
                    .setKilledBy(k.by())
                    .setKilledSince(k.since().toString()));
    s.revocation()
        .ifPresent(
            r ->
                b.setRevocationReason(r.reason())
                    .setRevocationMessage(r.message())
                    .setRevokedSince(r.since().toString()));
    s.pendingLink()
        .ifPresent(
            p ->
                b.setPendingL1LinkId(p.requestId())
                    .setPendingL1Reference(p.l1Reference())
                    .setPendingL1RequestedBy(p.requestedBy()));
    b.setL2MaxAge(s.l2MaxAge().toString());
    b.setHomeRegion(s.homeRegion());
    b.setStateDigest(s.stateDigest());
    b.addAllKillIds(s.killIds());
    if (s.l2CreatedAt() != null && s.l2CreatedAt().isAfter(java.time.Instant.EPOCH)) {
      b.setL2CreatedAt(s.l2CreatedAt().toString());
    }
    for (TenantSummary.ServiceSummary v : s.services()) {
      ServiceInfo.Builder service =
          ServiceInfo.newBuilder()
              .setServiceId(v.serviceId())
              .setL3Version((int) v.l3Version())
              .setL3MaxAge(v.l3MaxAge().toString())
              .setPinned(v.pinned());
      for (TenantSummary.VersionSummary version : v.versions()) {
        service.addVersions(
            KeyVersionInfo.newBuilder()
                .setVersion((int) version.version())
                .setState(version.state().id())
                .setCreatedAt(
                    version.createdAt().isAfter(java.time.Instant.EPOCH)
                        ? version.createdAt().toString()
                        : "")
                .setWraps(version.wraps())
                .setDestroyedSha256(version.destroyedSha256()));
      }
      b.addServices(service);
    }
    return b.build();
  }
}
