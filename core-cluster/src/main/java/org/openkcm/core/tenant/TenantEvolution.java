package org.openkcm.core.tenant;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandlerBuilder;
import org.openkcm.core.keystore.L1Reference;
import org.openkcm.core.killswitch.KillRecord;
import org.openkcm.core.killswitch.KillScope;
import org.openkcm.core.tenant.LifecycleProtocol.L2Rewrapped;
import org.openkcm.core.tenant.LifecycleProtocol.L2Rotated;
import org.openkcm.core.tenant.LifecycleProtocol.L3Rotated;
import org.openkcm.core.tenant.LifecycleProtocol.L3VersionsRetired;
import org.openkcm.core.tenant.LifecycleProtocol.TenantOffboarded;
import org.openkcm.core.tenant.LifecycleProtocol.WrapBudgetReserved;
import org.openkcm.core.tenant.TenantEntity.BlobsResealed;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.core.tenant.TenantEntity.L1LinkClosed;
import org.openkcm.core.tenant.TenantEntity.L1LinkRequested;
import org.openkcm.core.tenant.TenantEntity.L1Linked;
import org.openkcm.core.tenant.TenantEntity.L1Restored;
import org.openkcm.core.tenant.TenantEntity.L1Revoked;
import org.openkcm.core.tenant.TenantEntity.ServiceCreated;
import org.openkcm.core.tenant.TenantEntity.TenantKilled;
import org.openkcm.core.tenant.TenantEntity.TenantOnboarded;
import org.openkcm.core.tenant.TenantEntity.TenantRevived;
import org.openkcm.core.tenant.TenantState.L1Revocation;
import org.openkcm.core.tenant.TenantState.L3Info;
import org.openkcm.core.tenant.TenantState.PendingL1Link;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.core.tenant.TenantState.ServiceKeys;
import org.openkcm.core.tenant.TenantState.Unregistered;
import org.openkcm.core.tenant.TenantState.WrappedL3;

/**
 * How a tenant's state evolves: the event handler of {@link TenantEntity}, as pure functions from
 * (state, event) to state. No keys, no side effects (but a warning for a replicated event that does
 * not apply: it is skipped, never thrown): recovery runs exactly this.
 */
final class TenantEvolution {

  private static final org.slf4j.Logger log =
      org.slf4j.LoggerFactory.getLogger(TenantEvolution.class);

  private TenantEvolution() {}

  /** Every event applied to the state it happens in; nothing else. */
  static EventHandler<TenantState, Event> handler(EventHandlerBuilder<TenantState, Event> b) {
    java.util.concurrent.atomic.AtomicReference<EventHandler<TenantState, Event>> self =
        new java.util.concurrent.atomic.AtomicReference<>();
    b.forAnyState().onEvent(TenantEntity.Replicated.class, (s, e) -> replicated(self.get(), s, e));
    b.forStateType(TenantState.Offboarded.class)
        .onEvent(TenantOnboarded.class, (s, e) -> onboarded(e));
    b.forStateType(Unregistered.class)
        .onEvent(
            TenantOnboarded.class,
            (s, e) -> {
              Registered r = onboarded(e);
              for (Map.Entry<String, KillRecord> k : s.pendingKills().entrySet()) {
                r = r.withKill(k.getKey(), k.getValue());
              }
              return r;
            })
        .onEvent(
            TenantKilled.class,
            (s, e) ->
                s.withPendingKill(
                    e.killId() == null ? "" : e.killId(),
                    new KillRecord(KillScope.TENANT, e.reason(), e.by(), e.at())));
    b.forStateType(Registered.class)
        .onEvent(
            ServiceCreated.class,
            (s, e) ->
                s.withService(
                    e.wrappedL3().length == 0
                        // a pinned service of another region: known to exist, never held here
                        ? new ServiceKeys(e.serviceId(), 0, List.of(), List.of(), 0, true)
                        : new ServiceKeys(
                            e.serviceId(),
                            e.l3Version(),
                            List.of(new WrappedL3(e.l3Version(), e.l2Version(), e.wrappedL3())),
                            List.of(new L3Info(e.l3Version(), e.at(), 0, "")),
                            0,
                            e.pinned())))
        .onEvent(
            L3Rotated.class,
            (s, e) ->
                s.withService(
                    s.services()
                        .get(e.serviceId())
                        .withVersion(
                            new WrappedL3(e.l3Version(), e.l2Version(), e.wrappedL3()), e.at())))
        .onEvent(
            L3VersionsRetired.class,
            (s, e) -> {
              Map<Long, String> hashes = new java.util.HashMap<>();
              for (int i = 0; i < e.versions().size(); i++) {
                hashes.put(e.versions().get(i), e.blobSha256().get(i));
              }
              return s.withService(s.services().get(e.serviceId()).retire(e.below(), hashes));
            })
        .onEvent(
            L2Rewrapped.class,
            (s, e) ->
                s.with(
                    d -> {
                      d.wrappedL2 = e.wrappedL2();
                      d.l1Context = Map.copyOf(e.l1Context());
                    }))
        .onEvent(
            WrapBudgetReserved.class,
            (s, e) ->
                s.withService(
                    s.services().get(e.serviceId()).withReserved(e.l3Version(), e.reservedUpTo())))
        .onEvent(
            L2Rotated.class,
            (s, e) ->
                s.withBlobs(e.wrappedL2(), e.l3Versions())
                    .with(
                        d -> {
                          d.l2Version = e.l2Version();
                          d.l1Context = Map.copyOf(e.l1Context());
                          d.l2CreatedAt = e.at();
                        }))
        .onEvent(
            L1Revoked.class,
            (s, e) ->
                s.withRevocation(Optional.of(new L1Revocation(e.reason(), e.message(), e.at()))))
        .onEvent(L1Restored.class, (s, e) -> s.withRevocation(Optional.empty()))
        .onEvent(
            L1Linked.class,
            (s, e) -> s.withL1(e.l1Reference(), e.wrappedL2(), Map.copyOf(e.l1Context())))
        .onEvent(BlobsResealed.class, (s, e) -> s.withBlobs(e.wrappedL2(), e.l3Versions()))
        .onEvent(
            L1LinkRequested.class,
            (s, e) ->
                s.withPendingLink(
                    Optional.of(
                        new PendingL1Link(
                            e.requestId(), e.l1Reference(), e.requestedBy(), e.at()))))
        .onEvent(
            L1LinkClosed.class,
            (s, e) ->
                s.withPendingLink(
                    s.pendingLink().filter(p -> !p.requestId().equals(e.requestId()))))
        .onEvent(
            TenantKilled.class,
            (s, e) ->
                s.withKill(
                    e.killId() == null ? "" : e.killId(),
                    new KillRecord(KillScope.TENANT, e.reason(), e.by(), e.at())))
        .onEvent(TenantRevived.class, (s, e) -> s.withoutKills(e.named()))
        .onEvent(
            LifecycleProtocol.RotationPolicySet.class,
            (s, e) ->
                s.with(
                    d -> {
                      TenantState.RotationPolicy p = d.policy;
                      Optional<java.time.Duration> l2 =
                          e.l2MaxAgeSeconds() > 0
                              ? Optional.of(java.time.Duration.ofSeconds(e.l2MaxAgeSeconds()))
                              : p.l2MaxAge();
                      Optional<java.time.Duration> l3 = p.l3MaxAge();
                      Map<String, java.time.Duration> perService =
                          new java.util.TreeMap<>(p.serviceL3MaxAge());
                      if (e.l3MaxAgeSeconds() > 0) {
                        java.time.Duration age = java.time.Duration.ofSeconds(e.l3MaxAgeSeconds());
                        if (e.serviceId().isEmpty()) {
                          l3 = Optional.of(age);
                        } else {
                          perService.put(e.serviceId(), age);
                        }
                      }
                      d.policy = new TenantState.RotationPolicy(l2, l3, perService);
                    }))
        .onEvent(
            TenantOffboarded.class,
            (s, e) ->
                new TenantState.Offboarded(
                    e.tenantId(),
                    e.at(),
                    e.by(),
                    e.reason(),
                    List.copyOf(e.destroyed()),
                    s.replicated(),
                    s.homeRegion()));
    EventHandler<TenantState, Event> built = b.build();
    self.set(built);
    return built;
  }

  /** Another region's event applied like a local one, then remembered as applied. */
  private static TenantState replicated(
      EventHandler<TenantState, Event> handler, TenantState s, TenantEntity.Replicated e) {
    boolean applies =
        (s instanceof TenantState.Registered && !(e.event() instanceof TenantOnboarded))
            || (!(s instanceof TenantState.Registered) && e.event() instanceof TenantOnboarded)
            || (s instanceof Unregistered && e.event() instanceof TenantKilled);
    TenantState next = s;
    if (applies) {
      try {
        next = handler.apply(s, e.event());
      } catch (RuntimeException inapplicable) {
        // written before replicated events were checked first: skipped, so the tenant recovers
        log.warn(
            "tenant {}: replicated {} #{} of region {} does not apply to its state; skipped",
            e.event() instanceof TenantOnboarded o ? o.tenantId() : "?",
            e.event().getClass().getSimpleName(),
            e.originSequenceNr(),
            e.originRegion());
      }
    }
    if (next instanceof TenantState.Registered r) {
      return r.with(
          d -> {
            Map<String, Long> upTo = new java.util.TreeMap<>(d.replicated);
            if (s instanceof TenantState.Unregistered u) {
              upTo.putAll(u.replicated()); // the pending kills' origins: applied before
            }
            upTo.put(e.originRegion(), e.originSequenceNr());
            d.replicated = upTo;
            if (e.event() instanceof TenantOnboarded && !(s instanceof TenantState.Registered)) {
              d.homeRegion = e.originRegion(); // onboarded from there: its home
            }
          });
    }
    if (next instanceof TenantState.Unregistered u) {
      return u.withReplicated(e.originRegion(), e.originSequenceNr());
    }
    if (next instanceof TenantState.Offboarded o) {
      Map<String, Long> upTo = new java.util.TreeMap<>(o.replicated());
      upTo.put(e.originRegion(), e.originSequenceNr());
      return new TenantState.Offboarded(
          o.tenantId(), o.at(), o.by(), o.reason(), o.destroyed(), upTo, o.homeRegion());
    }
    return next;
  }

  static Registered onboarded(TenantOnboarded e) {
    return new Registered(
        e.tenantId(),
        e.l1Reference(),
        e.l2Version(),
        e.wrappedL2(),
        Map.copyOf(e.l1Context()),
        e.at(),
        Map.of(),
        Optional.empty(),
        Optional.empty(),
        L1Reference.parse(e.l1Reference()).keyDomain(),
        Optional.empty(),
        e.at(),
        TenantState.RotationPolicy.DEFAULTS,
        "",
        Map.of(),
        "",
        Map.of(),
        List.of());
  }
}
