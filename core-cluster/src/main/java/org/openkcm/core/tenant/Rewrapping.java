package org.openkcm.core.tenant;

import static org.openkcm.core.tenant.TenantRejections.reject;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.openkcm.core.tenant.KeyBatch.RewrapOutcome;
import org.openkcm.core.tenant.KeyBatch.Rewrapped;
import org.openkcm.core.tenant.KeyBatch.UnwrapItem;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.core.tenant.TenantEntity.RewrapKeys;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.core.tenant.TenantState.ServiceKeys;
import org.openkcm.protocol.envelope.EncryptionContext;
import org.openkcm.protocol.envelope.Envelope;
import org.openkcm.protocol.envelope.EnvelopeCipher;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.envelope.EnvelopeException;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * Rewrap that keeps the context: an envelope under an older L3 version is opened with its context
 * (so a wrong context fails as ENVELOPE_AUTHENTICATION_FAILED) and wrapped again under the
 * service's active version with the same context. The DEK never leaves this entity. New wraps spend
 * the active version's nonce budget like any other (a rotation may come first).
 */
final class Rewrapping {

  private final TenantRuntime rt;
  private final Unsealer unsealer;
  private final KeyRotation rotation;

  Rewrapping(TenantRuntime rt, Unsealer unsealer, KeyRotation rotation) {
    this.rt = rt;
    this.unsealer = unsealer;
    this.rotation = rotation;
  }

  /** An item that needs a new wrap: its index, decoded envelope and context. */
  private record Pending(int index, Envelope envelope, Map<String, String> context) {}

  ReplyEffect<Event, TenantState> onRewrap(Registered s, RewrapKeys c) {
    Optional<String> invalid = rt.batchProblem(c.items().size());
    if (invalid.isPresent()) {
      return rt.effect.reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT, invalid.get()));
    }
    if (rt.keys().isEmpty()) {
      return unsealer.unsealFirst(s, c, c.correlationId(), c.replyTo());
    }
    RewrapOutcome[] outcomes = new RewrapOutcome[c.items().size()];
    Map<String, List<Pending>> byService = new LinkedHashMap<>();
    for (int i = 0; i < c.items().size(); i++) {
      UnwrapItem item = c.items().get(i);
      try {
        Envelope env = EnvelopeCodec.decode(item.envelope());
        Optional<RewrapOutcome> answer = precheck(s, env, item);
        if (answer.isPresent()) {
          outcomes[i] = answer.get();
        } else {
          byService
              .computeIfAbsent(env.serviceId(), k -> new ArrayList<>())
              .add(new Pending(i, env, item.context()));
        }
      } catch (EnvelopeException e) {
        outcomes[i] = RewrapOutcome.failed(ErrorReason.of(e.reason()), e.getMessage());
      }
    }
    List<KeyRotation.WrapPlan> plans = new ArrayList<>();
    List<Event> events = new ArrayList<>();
    for (Map.Entry<String, List<Pending>> e : byService.entrySet()) {
      try {
        KeyRotation.WrapPlan plan =
            rotation.planWrap(
                s, s.services().get(e.getKey()), e.getValue().size(), c.correlationId());
        plans.add(plan);
        events.addAll(plan.events());
      } catch (OpenKcmException refused) {
        e.getValue()
            .forEach(
                p ->
                    outcomes[p.index()] =
                        RewrapOutcome.failed(refused.reason(), refused.getMessage()));
      }
    }
    if (events.isEmpty()) {
      return rt.effect.reply(c.replyTo(), rewrap(plans, byService, outcomes));
    }
    return rt.effect
        .persist(events)
        .thenRun(st -> plans.forEach(rotation::applied))
        .thenReply(c.replyTo(), st -> rewrap(plans, byService, outcomes));
  }

  /**
   * The answer of an item that needs no new wrap (refused, or already under the active version).
   */
  private Optional<RewrapOutcome> precheck(Registered s, Envelope env, UnwrapItem item) {
    if (!env.tenantId().equals(rt.tenantId)) {
      return Optional.of(
          RewrapOutcome.failed(
              ErrorReason.ENVELOPE_TENANT_MISMATCH,
              "envelope belongs to another tenant, not to " + rt.tenantId));
    }
    ServiceKeys service = s.services().get(env.serviceId());
    if (service == null) {
      return Optional.of(
          RewrapOutcome.failed(
              ErrorReason.SERVICE_NOT_FOUND,
              "envelope names service "
                  + env.serviceId()
                  + ", which tenant "
                  + rt.tenantId
                  + " does not have"));
    }
    if (service.pinned() && s.isReplica()) {
      return Optional.of(
          RewrapOutcome.failed(
              ErrorReason.SERVICE_PINNED, ChainCommands.pinned(s, service.serviceId())));
    }
    if (env.l3Version() < service.retiredBelow()) {
      return Optional.of(
          RewrapOutcome.failed(
              ErrorReason.KEY_VERSION_RETIRED, ChainCommands.retired(service, env)));
    }
    Optional<EnvelopeCipher> old = rt.keys().get().cipher(env.serviceId(), env.l3Version());
    if (old.isEmpty()) {
      return Optional.of(
          RewrapOutcome.failed(
              ErrorReason.L3_VERSION_UNKNOWN,
              "envelope names L3 version "
                  + env.l3Version()
                  + " of service "
                  + env.serviceId()
                  + ", which does not exist"));
    }
    if (env.l3Version() == service.currentVersion()) {
      // already under the active version: prove the context, answer the same bytes
      try {
        old.get().unwrap(env, EncryptionContext.of(item.context())).wipe();
        return Optional.of(RewrapOutcome.ok(item.envelope(), env.l3Version()));
      } catch (EnvelopeException e) {
        return Optional.of(RewrapOutcome.failed(ErrorReason.of(e.reason()), e.getMessage()));
      }
    }
    return Optional.empty();
  }

  private StatusReply<Rewrapped> rewrap(
      List<KeyRotation.WrapPlan> plans,
      Map<String, List<Pending>> byService,
      RewrapOutcome[] outcomes) {
    UnsealedKeys keys = rt.keys().orElseThrow();
    for (KeyRotation.WrapPlan plan : plans) {
      List<Pending> pending = byService.get(plan.serviceId());
      EnvelopeCipher active = keys.cipher(plan.serviceId(), plan.version()).orElseThrow();
      keys.countWraps(plan.serviceId(), plan.version(), pending.size());
      for (Pending p : pending) {
        EnvelopeCipher old =
            keys.cipher(p.envelope().serviceId(), p.envelope().l3Version()).orElseThrow();
        KeyMaterial dek = null;
        try {
          EncryptionContext context = EncryptionContext.of(p.context());
          dek = old.unwrap(p.envelope(), context);
          outcomes[p.index()] =
              RewrapOutcome.ok(active.wrap(dek, context, rt.deps.random()), plan.version());
        } catch (EnvelopeException e) {
          outcomes[p.index()] = RewrapOutcome.failed(ErrorReason.of(e.reason()), e.getMessage());
        } finally {
          if (dek != null) {
            dek.wipe();
          }
        }
      }
    }
    return StatusReply.success(new Rewrapped(List.of(outcomes), rt.sequence()));
  }
}
