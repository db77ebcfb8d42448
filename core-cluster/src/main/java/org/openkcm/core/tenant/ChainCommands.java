package org.openkcm.core.tenant;

import static org.openkcm.core.tenant.TenantRejections.reject;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.openkcm.core.keystore.L1Reference;
import org.openkcm.core.killswitch.KillRecord;
import org.openkcm.core.seal.MasterKey;
import org.openkcm.core.tenant.KeyBatch.Unwrapped;
import org.openkcm.core.tenant.KeyBatch.Wrapped;
import org.openkcm.core.tenant.L1Call.Onboarding;
import org.openkcm.core.tenant.L1Session.Calling;
import org.openkcm.core.tenant.LifecycleProtocol.WrapBudgetReserved;
import org.openkcm.core.tenant.TenantEntity.BlobsResealed;
import org.openkcm.core.tenant.TenantEntity.CreateService;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.core.tenant.TenantEntity.L1Answered;
import org.openkcm.core.tenant.TenantEntity.MigrateSeal;
import org.openkcm.core.tenant.TenantEntity.Onboard;
import org.openkcm.core.tenant.TenantEntity.ServiceCreated;
import org.openkcm.core.tenant.TenantEntity.TenantOnboarded;
import org.openkcm.core.tenant.TenantEntity.UnwrapKeys;
import org.openkcm.core.tenant.TenantEntity.WrapKeys;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.core.tenant.TenantState.ServiceKeys;
import org.openkcm.core.tenant.TenantState.Unregistered;
import org.openkcm.core.tenant.TenantState.WrappedL3;
import org.openkcm.protocol.envelope.Envelope;
import org.openkcm.protocol.envelope.EnvelopeCipher;
import org.openkcm.protocol.envelope.EnvelopeHeader;
import org.openkcm.protocol.envelope.Identifiers;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.event.TenantEventKind;
import org.openkcm.protocol.key.KeyMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tenant's chain itself: onboarding (a new L2 under the customer's L1), new services (a new L3
 * under L2), wrapping and unwrapping data keys with the L3s in memory, and the one-time sealing of
 * blobs written before master-key sealing.
 */
final class ChainCommands {

  private static final Logger log = LoggerFactory.getLogger(ChainCommands.class);
  private static final int KEY_BYTES = 32;

  private final TenantRuntime rt;
  private final Unsealer unsealer;
  private final KeyRotation rotation;

  ChainCommands(TenantRuntime rt, Unsealer unsealer, KeyRotation rotation) {
    this.rt = rt;
    this.unsealer = unsealer;
    this.rotation = rotation;
  }

  ReplyEffect<Event, TenantState> onOnboard(Unregistered s, Onboard c) {
    L1Reference ref;
    try {
      ref = L1Reference.parse(c.l1Reference());
    } catch (IllegalArgumentException e) {
      return rt.effect.reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT, e.getMessage()));
    }
    if (!rt.deps.masterKey().isUnsealed()) {
      return rt.effect.reply(c.replyTo(), reject(TenantRuntime.sealedError()));
    }
    Optional<KillRecord> switchedOff = rt.deps.killSwitch().engaged();
    if (switchedOff.isPresent()) {
      return rt.effect.reply(
          c.replyTo(),
          switchedOff.get().confirmed()
              ? reject(
                  ErrorReason.TENANT_KILLED,
                  "onboarding refused: " + switchedOff.get().describe(rt.tenantId))
              : reject(ErrorReason.CORE_UNAVAILABLE, switchedOff.get().reason()));
    }
    String cid = TenantRuntime.correlation(c.correlationId());
    KeyMaterial l2 = KeyMaterial.random(KEY_BYTES, rt.deps.random());
    Map<String, String> l1Context = rt.chain.l1Context(1, cid);
    log.info("tenant {}: onboarding, wrapping a new L2 with L1 {} (cid={})", rt.tenantId, ref, cid);
    rt.callForBlob(new Onboarding(c, l2, l1Context, cid), rt.wrapVerified(ref, l2, l1Context, cid));
    return rt.effect.noReply(); // answered when the keystore has answered
  }

  ReplyEffect<Event, TenantState> onOnboarded(Unregistered s, Onboarding call, L1Answered answer) {
    Optional<Calling> ended = rt.endCall(call);
    Onboard c = call.request();
    String cid = call.correlationId();
    if (answer.failure().isPresent()) {
      call.l2().wipe();
      OpenKcmException e = rt.keystoreError(answer.failure().get(), c.l1Reference(), true);
      rt.audit.record("tenant.onboard", "l1", c.l1Reference(), "cid", cid, "outcome", e.reason());
      return rt.effect
          .reply(c.replyTo(), TenantRejections.<TenantSummary>reject(e))
          .thenUnstashAll();
    }
    byte[] sealedL2;
    try {
      sealedL2 = rt.chain.sealL2(answer.blob().orElseThrow());
    } catch (OpenKcmException e) {
      call.l2().wipe();
      return rt.effect
          .reply(c.replyTo(), TenantRejections.<TenantSummary>reject(e))
          .thenUnstashAll();
    }
    boolean keep = ended.isPresent() && !ended.get().wiped();
    TenantOnboarded event =
        new TenantOnboarded(
            rt.tenantId,
            L1Reference.parse(c.l1Reference()).asString(),
            1,
            sealedL2,
            call.l1Context(),
            rt.deps.clock().instant(),
            cid);
    return rt.effect
        .persist(event)
        .thenRun(
            st -> {
              if (keep) {
                rt.installKeys(new UnsealedKeys(call.l2(), 1));
              } else {
                call.l2().wipe(); // wiped meanwhile (a kill-switch): unsealed again when needed
              }
              rt.audit.record(
                  "tenant.onboard",
                  "l1",
                  event.l1Reference(),
                  "l2v",
                  "1",
                  "cid",
                  cid,
                  "outcome",
                  "ok");
              rt.publish(TenantEventKind.ONBOARDED, "L1 " + event.l1Reference());
            })
        .thenReply(c.replyTo(), st -> StatusReply.success(rt.summary((Registered) st)))
        .thenUnstashAll();
  }

  ReplyEffect<Event, TenantState> onCreateService(Registered s, CreateService c) {
    Optional<String> problem = Identifiers.problem("service", c.serviceId());
    if (problem.isPresent()) {
      return rt.effect.reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT, problem.get()));
    }
    if (s.services().containsKey(c.serviceId())) {
      return rt.effect.reply(
          c.replyTo(),
          reject(
              ErrorReason.SERVICE_ALREADY_EXISTS,
              "service " + c.serviceId() + " of tenant " + rt.tenantId + " already exists"));
    }
    if (rt.keys().isEmpty()) {
      return unsealer.unsealFirst(s, c, c.correlationId(), c.replyTo());
    }
    UnsealedKeys keys = rt.keys().get();
    String cid = TenantRuntime.correlation(c.correlationId());
    KeyMaterial l3 = KeyMaterial.random(KEY_BYTES, rt.deps.random());
    byte[] blob;
    try {
      blob = rt.chain.sealL3(keys.l2(), keys.l2Version(), c.serviceId(), 1, l3);
    } catch (OpenKcmException e) {
      l3.wipe();
      return rt.effect.reply(c.replyTo(), reject(e));
    }
    ServiceCreated event =
        new ServiceCreated(
            c.serviceId(), 1, keys.l2Version(), blob, rt.deps.clock().instant(), cid, c.pinned());
    long firstBlock =
        Math.min(
            rt.deps.settings().lifecycle().maxWrapsPerL3(),
            rt.deps.settings().lifecycle().reserveBlock());
    return rt.effect
        .persist(List.of(event, new WrapBudgetReserved(c.serviceId(), 1, firstBlock)))
        .thenRun(
            st -> {
              rt.keys()
                  .ifPresent(
                      k ->
                          k.install(
                              new EnvelopeCipher(
                                  new EnvelopeHeader(rt.tenantId, c.serviceId(), 1), l3)));
              l3.wipe();
              rt.audit.record(
                  "service.create",
                  "service",
                  c.serviceId(),
                  "l3v",
                  "1",
                  "cid",
                  cid,
                  "outcome",
                  "ok");
              rt.publish(TenantEventKind.SERVICE_CREATED, c.serviceId());
            })
        .thenReply(c.replyTo(), st -> StatusReply.success(rt.summary((Registered) st)));
  }

  ReplyEffect<Event, TenantState> onWrap(Registered s, WrapKeys c) {
    ServiceKeys service = s.services().get(c.serviceId());
    if (service == null) {
      return rt.effect.reply(c.replyTo(), rt.serviceNotFound(c.serviceId()));
    }
    if (service.pinned() && s.isReplica()) {
      return rt.effect.reply(
          c.replyTo(), reject(ErrorReason.SERVICE_PINNED, pinned(s, service.serviceId())));
    }
    Optional<String> invalid = rt.batchProblem(c.items().size());
    if (invalid.isPresent()) {
      return rt.effect.reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT, invalid.get()));
    }
    if (rt.keys().isEmpty()) {
      return unsealer.unsealFirst(s, c, c.correlationId(), c.replyTo());
    }
    for (int i = 0; i < c.items().size(); i++) {
      int len = c.items().get(i).plaintext().length;
      if (len != 16 && len != 24 && len != 32) {
        return rt.effect.reply(
            c.replyTo(),
            reject(
                ErrorReason.INVALID_ARGUMENT,
                "item " + i + ": a data key is 16, 24 or 32 bytes (AES-128/192/256), got " + len));
      }
    }
    KeyRotation.WrapPlan plan;
    try {
      plan = rotation.planWrap(s, service, c.items().size(), c.correlationId());
    } catch (OpenKcmException e) {
      return rt.effect.reply(c.replyTo(), reject(e));
    }
    if (plan.events().isEmpty()) {
      StatusReply<Wrapped> wrapped = wrapItems(c, plan.version());
      rt.resident(s);
      return rt.effect.reply(c.replyTo(), wrapped);
    }
    return rt.effect
        .persist(plan.events())
        .thenRun(st -> rotation.applied(plan))
        .thenReply(
            c.replyTo(),
            st -> {
              StatusReply<Wrapped> wrapped = wrapItems(c, plan.version());
              rt.resident((Registered) st);
              return wrapped;
            });
  }

  /** Wraps every item with L3 version {@code version} (in memory) and counts the wraps. */
  private StatusReply<Wrapped> wrapItems(WrapKeys c, long version) {
    UnsealedKeys keys = rt.keys().orElseThrow();
    EnvelopeCipher cipher = keys.cipher(c.serviceId(), version).orElseThrow();
    keys.countWraps(c.serviceId(), version, c.items().size());
    NonceBudgetGauge.get(rt.context().getSystem())
        .observe(
            rt.tenantId,
            c.serviceId(),
            version,
            keys.wraps(c.serviceId(), version),
            rt.deps.settings().lifecycle().maxWrapsPerL3());
    List<byte[]> envelopes;
    try {
      envelopes = ResidentTenant.wrapAll(cipher, c.items(), rt.deps.random());
    } catch (ResidentTenant.ItemRefused e) {
      return reject(ErrorReason.of(e.cause.reason()), e.getMessage());
    }
    return StatusReply.success(new Wrapped(envelopes, version, rt.sequence()));
  }

  ReplyEffect<Event, TenantState> onUnwrap(Registered s, UnwrapKeys c) {
    Optional<String> invalid = rt.batchProblem(c.items().size());
    if (invalid.isPresent()) {
      return rt.effect.reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT, invalid.get()));
    }
    if (rt.keys().isEmpty()) {
      return unsealer.unsealFirst(s, c, c.correlationId(), c.replyTo());
    }
    Unwrapped answer =
        new Unwrapped(
            ResidentTenant.unwrapAll(s, rt.keys().orElseThrow(), c.items()), rt.sequence());
    rt.resident(s);
    return rt.effect.reply(c.replyTo(), StatusReply.success(answer));
  }

  static String pinned(Registered s, String serviceId) {
    return "service "
        + serviceId
        + " of tenant "
        + s.tenantId()
        + " is pinned to region "
        + s.homeRegion()
        + ": its key never leaves that region; use that region's gateways";
  }

  /** Why an envelope of a retired version no longer opens. */
  static String retired(ServiceKeys service, Envelope env) {
    return "envelope names L3 version "
        + env.l3Version()
        + " of service "
        + service.serviceId()
        + ", which was retired (every version below "
        + service.retiredBelow()
        + " is destroyed): it can never be opened again";
  }

  /** Seals, with the master key, the blobs of a tenant written before master-key sealing. */
  ReplyEffect<Event, TenantState> onMigrateSeal(Registered s, MigrateSeal c) {
    if (!rt.deps.masterKey().isUnsealed()) {
      return rt.effect.reply(c.replyTo(), reject(TenantRuntime.sealedError()));
    }
    int sealed = 0;
    byte[] l2 = s.wrappedL2();
    if (!MasterKey.isSealedBlob(l2)) {
      l2 = rt.chain.sealLegacyL2(l2);
      sealed++;
    }
    Map<String, List<WrappedL3>> l3s = new TreeMap<>();
    for (ServiceKeys service : s.services().values()) {
      List<WrappedL3> versions = new ArrayList<>();
      for (WrappedL3 w : service.versions()) {
        if (MasterKey.isSealedBlob(w.blob())) {
          versions.add(w);
        } else {
          versions.add(
              new WrappedL3(
                  w.version(),
                  w.l2Version(),
                  rt.chain.sealLegacyL3(service.serviceId(), w.version(), w.blob())));
          sealed++;
        }
      }
      l3s.put(service.serviceId(), List.copyOf(versions));
    }
    String cid = TenantRuntime.correlation(c.correlationId());
    if (sealed == 0) {
      return rt.effect.reply(c.replyTo(), StatusReply.success(0));
    }
    int count = sealed;
    return rt.effect
        .persist(new BlobsResealed(l2, Map.copyOf(l3s), rt.deps.clock().instant(), cid))
        .thenRun(
            st ->
                rt.audit.record("tenant.migrate-seal", "blobs", count, "cid", cid, "outcome", "ok"))
        .thenReply(c.replyTo(), st -> StatusReply.success(count));
  }
}
