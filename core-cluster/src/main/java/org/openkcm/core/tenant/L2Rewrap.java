package org.openkcm.core.tenant;

import static org.openkcm.core.tenant.TenantRejections.reject;

import java.util.Map;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.openkcm.core.keystore.L1Reference;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.core.tenant.TenantEntity.L1Answered;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.protocol.error.OpenKcmException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * After the customer rotated the material of its L1 (AWS rotates transparently; a new PKCS#11 key
 * version): the same L2 is unwrapped by the current L1, wrapped again and must pass a round trip;
 * the blob under the old material goes with the older events.
 */
final class L2Rewrap {

  private static final Logger log = LoggerFactory.getLogger(L2Rewrap.class);

  private final TenantRuntime rt;

  L2Rewrap(TenantRuntime rt) {
    this.rt = rt;
  }

  ReplyEffect<Event, TenantState> onRewrapL2(Registered s, LifecycleProtocol.RewrapL2 c) {
    String cid = TenantRuntime.correlation(c.correlationId());
    Map<String, String> l1Context = rt.chain.l1Context(s.l2Version(), cid);
    L1Reference ref = L1Reference.parse(s.l1Reference());
    java.util.concurrent.CompletionStage<byte[]> rewrapped;
    try {
      rewrapped =
          rt.unwrapL2(s, cid)
              .thenCompose(
                  l2 ->
                      rt.wrapVerified(ref, l2, l1Context, cid)
                          .whenComplete((blob, failure) -> l2.wipe()));
    } catch (OpenKcmException e) {
      return rt.effect.reply(c.replyTo(), reject(e));
    }
    log.info(
        "tenant {}: re-wrapping L2 v{} under the current material of L1 {} (cid={})",
        rt.tenantId,
        s.l2Version(),
        ref,
        cid);
    rt.callForBlob(new L1Call.RewrappingL2(c, l1Context, cid), rewrapped);
    return rt.effect.noReply();
  }

  ReplyEffect<Event, TenantState> onL2Rewrapped(
      Registered s, L1Call.RewrappingL2 call, L1Answered answer) {
    rt.endCall(call);
    LifecycleProtocol.RewrapL2 c = call.request();
    String by = c.requestedBy().isBlank() ? "unknown" : c.requestedBy();
    if (answer.failure().isPresent()) {
      OpenKcmException e = rt.keystoreError(answer.failure().get(), s.l1Reference(), false);
      rt.audit.record(
          "tenant.rewrap-l2", "by", by, "cid", call.correlationId(), "outcome", e.reason());
      return rt.effect
          .reply(c.replyTo(), TenantRejections.<TenantSummary>reject(e))
          .thenUnstashAll();
    }
    byte[] sealed;
    try {
      sealed = rt.chain.sealL2(answer.blob().orElseThrow());
    } catch (OpenKcmException e) {
      return rt.effect
          .reply(c.replyTo(), TenantRejections.<TenantSummary>reject(e))
          .thenUnstashAll();
    }
    rt.purgeAfterSnapshot(); // the blob under the old material goes with the older events
    return rt.effect
        .persist(
            new LifecycleProtocol.L2Rewrapped(
                sealed, call.l1Context(), rt.deps.clock().instant(), call.correlationId(), by))
        .thenRun(
            st ->
                rt.audit.record(
                    "tenant.rewrap-l2",
                    "l2v",
                    s.l2Version(),
                    "by",
                    by,
                    "cid",
                    call.correlationId(),
                    "outcome",
                    "ok"))
        .thenReply(c.replyTo(), st -> StatusReply.success(rt.summary((Registered) st)))
        .thenUnstashAll();
  }
}
