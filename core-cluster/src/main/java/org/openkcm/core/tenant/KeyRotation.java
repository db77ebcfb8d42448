package org.openkcm.core.tenant;

import static org.openkcm.core.tenant.TenantRejections.reject;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.openkcm.core.keystore.L1Reference;
import org.openkcm.core.tenant.L1Call.RotatingL2;
import org.openkcm.core.tenant.L1Session.Calling;
import org.openkcm.core.tenant.LifecycleProtocol.L2Rotated;
import org.openkcm.core.tenant.LifecycleProtocol.L3Rotated;
import org.openkcm.core.tenant.LifecycleProtocol.RotateL2;
import org.openkcm.core.tenant.LifecycleProtocol.RotateService;
import org.openkcm.core.tenant.LifecycleProtocol.WrapBudgetReserved;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.core.tenant.TenantEntity.L1Answered;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.core.tenant.TenantState.ServiceKeys;
import org.openkcm.protocol.envelope.EnvelopeCipher;
import org.openkcm.protocol.envelope.EnvelopeHeader;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.event.TenantEventKind;
import org.openkcm.protocol.key.KeyMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Key versions over time: a new L3 version on request, when the active one nears its nonce budget,
 * or when it outlives its cryptoperiod; a new L2 (through the customer's L1) with every L3
 * re-wrapped under it. The nonce budget is reserved in persisted blocks before wraps are made, so a
 * crash can skip budget but never reuse it, and no L3 version ever wraps past {@link
 * KeyLifecycle#maxWrapsPerL3()}.
 */
final class KeyRotation {

  private static final Logger log = LoggerFactory.getLogger(KeyRotation.class);
  private static final int KEY_BYTES = 32;

  private final TenantRuntime rt;
  private final Unsealer unsealer;

  KeyRotation(TenantRuntime rt, Unsealer unsealer) {
    this.rt = rt;
    this.unsealer = unsealer;
  }

  /**
   * What a wrap of {@code n} DEKs must persist first (a rotation, a reservation, or nothing) and
   * with which version it then wraps; {@code newL3} is the new version's key, installed by {@link
   * #applied}.
   */
  record WrapPlan(
      String serviceId,
      long version,
      List<Event> events,
      Optional<KeyMaterial> newL3,
      String why) {}

  /** The plan of a wrap of {@code n} DEKs with the active L3 of {@code service}. */
  WrapPlan planWrap(Registered s, ServiceKeys service, int n, String correlationId) {
    KeyLifecycle life = rt.deps.settings().lifecycle();
    UnsealedKeys keys = rt.keys().orElseThrow();
    String sid = service.serviceId();
    long version = service.currentVersion();
    long used = keys.wraps(sid, version);
    long reserved = service.info(version).wrapsReserved();
    List<Event> events = new ArrayList<>();
    Optional<KeyMaterial> newL3 = Optional.empty();
    String why = "";
    // a replica never rotates on its own (two regions would make two keys of one version number):
    // the home region rotates; a replica stops at its share of the budget
    if (used + n > life.rotateAtWraps() && !s.isReplica()) {
      why =
          "nonce budget: L3 v"
              + version
              + " has made "
              + used
              + " of its "
              + life.maxWrapsPerL3()
              + " wraps (rotate-at "
              + life.rotateAtWraps()
              + ")";
      KeyMaterial l3 = KeyMaterial.random(KEY_BYTES, rt.deps.random());
      version = version + 1;
      events.add(
          newVersion(keys, sid, version, l3, correlationId, "openkcm", why, service.pinned()));
      newL3 = Optional.of(l3);
      used = 0;
      reserved = 0;
    }
    if (used + n > life.maxWrapsPerL3()) {
      newL3.ifPresent(KeyMaterial::wipe);
      throw new OpenKcmException(
          ErrorReason.NONCE_BUDGET_EXHAUSTED,
          "tenant "
              + rt.tenantId
              + ", service "
              + sid
              + ": "
              + n
              + " more wraps would pass the nonce budget of L3 v"
              + version
              + " ("
              + life.maxWrapsPerL3()
              + " wraps, openkcm.core.tenant.lifecycle.nonce-budget.max-wraps"
              + (s.isReplica()
                  ? ", this region's share; the home region "
                      + s.homeRegion()
                      + " rotates the L3 (admin rotate there)"
                  : "")
              + "); nothing wrapped");
    }
    if (used + n > reserved) {
      long upTo = Math.min(life.maxWrapsPerL3(), used + n + life.reserveBlock());
      events.add(new WrapBudgetReserved(sid, version, upTo));
    }
    return new WrapPlan(sid, version, List.copyOf(events), newL3, why);
  }

  /** The reservation a new version starts with (so that most wraps persist nothing). */
  private WrapBudgetReserved firstBlock(String serviceId, long version) {
    KeyLifecycle life = rt.deps.settings().lifecycle();
    return new WrapBudgetReserved(
        serviceId, version, Math.min(life.maxWrapsPerL3(), life.reserveBlock()));
  }

  /** After the plan's events are persisted: the new version (if any) is in memory and announced. */
  void applied(WrapPlan plan) {
    plan.newL3().ifPresent(l3 -> install(plan.serviceId(), plan.version(), l3, plan.why()));
  }

  private L3Rotated newVersion(
      UnsealedKeys keys,
      String serviceId,
      long version,
      KeyMaterial l3,
      String correlationId,
      String by,
      String reason,
      boolean pinned) {
    byte[] blob = rt.chain.sealL3(keys.l2(), keys.l2Version(), serviceId, version, l3);
    return new L3Rotated(
        serviceId,
        version,
        keys.l2Version(),
        blob,
        rt.deps.clock().instant(),
        TenantRuntime.correlation(correlationId),
        by,
        reason,
        pinned);
  }

  private void install(String serviceId, long version, KeyMaterial l3, String reason) {
    rt.keys()
        .ifPresent(
            k ->
                k.install(
                    new EnvelopeCipher(new EnvelopeHeader(rt.tenantId, serviceId, version), l3)));
    l3.wipe();
    log.info(
        "tenant {}: service {} now wraps with L3 v{} ({})",
        rt.tenantId,
        serviceId,
        version,
        reason);
    rt.audit.record(
        "service.rotate", "service", serviceId, "l3v", version, "reason", reason, "outcome", "ok");
    rt.publish(TenantEventKind.KEY_ROTATED, serviceId + " L3 v" + version);
  }

  // ---------------------------------------------------------------- on request

  ReplyEffect<Event, TenantState> onRotateService(Registered s, RotateService c) {
    ServiceKeys service = s.services().get(c.serviceId());
    if (service == null) {
      return rt.effect.reply(c.replyTo(), rt.serviceNotFound(c.serviceId()));
    }
    if (rt.keys().isEmpty()) {
      return unsealer.unsealFirst(s, c, c.correlationId(), c.replyTo());
    }
    KeyMaterial l3 = KeyMaterial.random(KEY_BYTES, rt.deps.random());
    long version = service.currentVersion() + 1;
    String by = c.requestedBy().isBlank() ? "unknown" : c.requestedBy();
    String why = "asked by " + by;
    L3Rotated event;
    try {
      event =
          newVersion(
              rt.keys().get(),
              c.serviceId(),
              version,
              l3,
              c.correlationId(),
              by,
              why,
              service.pinned());
    } catch (OpenKcmException e) {
      l3.wipe();
      return rt.effect.reply(c.replyTo(), reject(e));
    }
    return rt.effect
        .persist(List.of(event, firstBlock(c.serviceId(), version)))
        .thenRun(st -> install(c.serviceId(), version, l3, why))
        .thenReply(c.replyTo(), st -> StatusReply.success(rt.summary((Registered) st)));
  }

  ReplyEffect<Event, TenantState> onRotateL2(Registered s, RotateL2 c) {
    if (rt.keys().isEmpty()) {
      return unsealer.unsealFirst(s, c, c.correlationId(), c.replyTo());
    }
    String cid = TenantRuntime.correlation(c.correlationId());
    KeyMaterial l2 = KeyMaterial.random(KEY_BYTES, rt.deps.random());
    Map<String, String> l1Context = rt.chain.l1Context(s.l2Version() + 1, cid);
    log.info(
        "tenant {}: rotating L2 v{} -> v{} under L1 {} ({}, cid={})",
        rt.tenantId,
        s.l2Version(),
        s.l2Version() + 1,
        s.l1Reference(),
        c.requestedBy(),
        cid);
    rt.callForBlob(
        new RotatingL2(c, l2, l1Context, cid),
        rt.wrapVerified(L1Reference.parse(s.l1Reference()), l2, l1Context, cid));
    return rt.effect.noReply();
  }

  /** The customer's L1 wrapped the new L2: every L3 is re-wrapped under it, then it replaces L2. */
  ReplyEffect<Event, TenantState> onL2Wrapped(Registered s, RotatingL2 call, L1Answered answer) {
    Optional<Calling> ended = rt.endCall(call);
    RotateL2 c = call.request();
    KeyMaterial newL2 = call.l2();
    Optional<UnsealedKeys> old = rt.keys();
    OpenKcmException refused = null;
    if (answer.failure().isPresent()) {
      refused = rt.keystoreError(answer.failure().get(), s.l1Reference(), false);
    } else if (ended.isEmpty() || ended.get().wiped() || old.isEmpty()) {
      refused =
          new OpenKcmException(
              ErrorReason.CORE_UNAVAILABLE,
              "tenant " + rt.tenantId + ": its keys were wiped during the L2 rotation; retry");
    }
    if (refused != null) {
      newL2.wipe();
      rt.audit.record(
          "tenant.rotate-l2",
          "by",
          c.requestedBy(),
          "cid",
          call.correlationId(),
          "outcome",
          refused.reason());
      return rt.effect
          .reply(c.replyTo(), TenantRejections.<TenantSummary>reject(refused))
          .thenUnstashAll();
    }
    long version = s.l2Version() + 1;
    L2Rotated event;
    try {
      event =
          new L2Rotated(
              version,
              rt.chain.sealL2(answer.blob().orElseThrow()),
              call.l1Context(),
              rt.chain.rewrapL3s(old.get().l2(), newL2, version, s.services()),
              rt.deps.clock().instant(),
              call.correlationId(),
              c.requestedBy(),
              "asked by " + c.requestedBy(),
              s.services().values().stream()
                  .filter(ServiceKeys::pinned)
                  .map(ServiceKeys::serviceId)
                  .toList());
    } catch (OpenKcmException e) {
      newL2.wipe();
      return rt.effect
          .reply(c.replyTo(), TenantRejections.<TenantSummary>reject(e))
          .thenUnstashAll();
    }
    rt.purgeAfterSnapshot(); // the old L2 is still in older events: they go
    return rt.effect
        .persist(event)
        .thenRun(
            st -> {
              UnsealedKeys next = rt.chain.open(newL2, version, ((Registered) st).services());
              rt.wipeKeys("L2 rotated");
              rt.installKeys(next);
              rt.audit.record(
                  "tenant.rotate-l2",
                  "l2v",
                  version,
                  "by",
                  c.requestedBy(),
                  "cid",
                  call.correlationId(),
                  "outcome",
                  "ok");
              rt.publish(TenantEventKind.KEY_ROTATED, "L2 v" + version);
            })
        .thenReply(c.replyTo(), st -> StatusReply.success(rt.summary((Registered) st)))
        .thenUnstashAll();
  }

  // ---------------------------------------------------------------- cryptoperiods

  /** The tenant's own cryptoperiods; at least an hour each, the unknown service refused. */
  ReplyEffect<Event, TenantState> onSetPolicy(Registered s, LifecycleProtocol.SetRotationPolicy c) {
    if (!c.serviceId().isEmpty() && !s.services().containsKey(c.serviceId())) {
      return rt.effect.reply(c.replyTo(), rt.serviceNotFound(c.serviceId()));
    }
    if (!c.serviceId().isEmpty() && c.l2MaxAge().isPresent()) {
      return rt.effect.reply(
          c.replyTo(),
          reject(
              ErrorReason.INVALID_ARGUMENT,
              "an L2 max age is the tenant's, not a service's: give it without --service"));
    }
    for (java.time.Duration d :
        List.of(c.l3MaxAge(), c.l2MaxAge()).stream().flatMap(java.util.Optional::stream).toList()) {
      if (d.compareTo(java.time.Duration.ofHours(1)) < 0) {
        return rt.effect.reply(
            c.replyTo(),
            reject(ErrorReason.INVALID_ARGUMENT, "a max age is at least 1h, was " + d));
      }
    }
    if (c.l3MaxAge().isEmpty() && c.l2MaxAge().isEmpty()) {
      return rt.effect.reply(
          c.replyTo(),
          reject(ErrorReason.INVALID_ARGUMENT, "give an L3 max age, an L2 max age, or both"));
    }
    String by = c.requestedBy().isBlank() ? "unknown" : c.requestedBy();
    LifecycleProtocol.RotationPolicySet event =
        new LifecycleProtocol.RotationPolicySet(
            c.serviceId(),
            c.l3MaxAge().map(java.time.Duration::toSeconds).orElse(0L),
            c.l2MaxAge().map(java.time.Duration::toSeconds).orElse(0L),
            rt.deps.clock().instant(),
            TenantRuntime.correlation(c.correlationId()),
            by);
    return rt.effect
        .persist(event)
        .thenRun(
            st -> {
              rt.audit.record(
                  "tenant.rotation-policy",
                  "service",
                  c.serviceId(),
                  "l3MaxAge",
                  c.l3MaxAge().map(Object::toString).orElse(""),
                  "l2MaxAge",
                  c.l2MaxAge().map(Object::toString).orElse(""),
                  "by",
                  by,
                  "outcome",
                  "ok");
              rt.context().getSelf().tell(new TenantEntity.LifecycleTick()); // applies at once
            })
        .thenReply(c.replyTo(), st -> StatusReply.success(rt.summary((Registered) st)));
  }

  /** Rotates every L3 version and the L2 that outlived its cryptoperiod. */
  ReplyEffect<Event, TenantState> onLifecycleTick(Registered s) {
    // cryptoperiods are the home region's to enforce: its rotations reach the replicas
    if (rt.keys().isEmpty() || rt.session() instanceof Calling || s.isReplica()) {
      return rt.effect.noReply();
    }
    KeyLifecycle life = rt.deps.settings().lifecycle();
    Instant now = rt.deps.clock().instant();
    java.time.Duration l2MaxAge = s.policy().l2MaxAge().orElse(life.l2MaxAge());
    if (s.l2CreatedAt() != null
        && s.l2CreatedAt().isAfter(Instant.EPOCH)
        && now.isAfter(s.l2CreatedAt().plus(l2MaxAge))) {
      rt.context()
          .getSelf()
          .tell(
              new RotateL2(
                  "openkcm (l2 max age " + l2MaxAge + ")",
                  "rotate-l2-" + UUID.randomUUID(),
                  rt.context().getSystem().ignoreRef()));
    }
    List<Event> events = new ArrayList<>();
    List<Runnable> installs = new ArrayList<>();
    UnsealedKeys keys = rt.keys().get();
    for (ServiceKeys service : s.services().values()) {
      Instant made = service.info(service.currentVersion()).createdAt();
      java.time.Duration maxAge = s.policy().l3MaxAge(service.serviceId(), life.l3MaxAge());
      if (made.isAfter(Instant.EPOCH) && now.isAfter(made.plus(maxAge))) {
        KeyMaterial l3 = KeyMaterial.random(KEY_BYTES, rt.deps.random());
        long version = service.currentVersion() + 1;
        String why =
            "age: L3 v" + service.currentVersion() + " made " + made + " (max age " + maxAge + ")";
        events.add(
            newVersion(
                keys, service.serviceId(), version, l3, "", "openkcm", why, service.pinned()));
        events.add(firstBlock(service.serviceId(), version));
        installs.add(() -> install(service.serviceId(), version, l3, why));
      }
    }
    if (events.isEmpty()) {
      return rt.effect.noReply();
    }
    return rt.effect.persist(events).thenRun(st -> installs.forEach(Runnable::run)).thenNoReply();
  }
}
