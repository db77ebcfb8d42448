package org.openkcm.core.tenant;

import static org.openkcm.core.tenant.TenantRejections.reject;

import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.openkcm.core.keystore.L1Reference;
import org.openkcm.core.tenant.L1Call.Linking;
import org.openkcm.core.tenant.L1Session.Unsealed;
import org.openkcm.core.tenant.TenantEntity.ApproveL1Link;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.core.tenant.TenantEntity.L1Answered;
import org.openkcm.core.tenant.TenantEntity.L1LinkClosed;
import org.openkcm.core.tenant.TenantEntity.L1LinkRequested;
import org.openkcm.core.tenant.TenantEntity.L1Linked;
import org.openkcm.core.tenant.TenantEntity.RequestL1Link;
import org.openkcm.core.tenant.TenantState.PendingL1Link;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.Fields;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.event.TenantEventKind;
import org.openkcm.protocol.key.KeyMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Four-eyes re-link of a tenant's L1: one identity asks to move L2 under another L1 of the key
 * domain pinned at onboarding, a second identity approves; then the current L1 must give L2 back
 * and the new L1 must pass a wrap/unwrap round trip before L2 is re-wrapped.
 */
final class L1Relink {

  private static final Logger log = LoggerFactory.getLogger(L1Relink.class);

  private final TenantRuntime rt;

  L1Relink(TenantRuntime rt) {
    this.rt = rt;
  }

  ReplyEffect<Event, TenantState> onRequest(Registered s, RequestL1Link c) {
    L1Reference ref;
    try {
      ref = L1Reference.parse(c.l1Reference());
    } catch (IllegalArgumentException e) {
      return rt.effect.reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT, e.getMessage()));
    }
    String cid = TenantRuntime.correlation(c.correlationId());
    Optional<OpenKcmException> refused = refusal(s, ref);
    if (c.requestedBy().isBlank()) {
      refused =
          Optional.of(
              new OpenKcmException(
                  ErrorReason.PERMISSION_DENIED,
                  "a re-link request needs the identity that asks for it"));
    }
    if (refused.isPresent()) {
      rt.audit.record(
          "tenant.link-l1.request",
          "l1",
          ref,
          "by",
          c.requestedBy(),
          "cid",
          cid,
          "outcome",
          refused.get().reason());
      return rt.effect.reply(c.replyTo(), reject(refused.get()));
    }
    L1LinkRequested event =
        new L1LinkRequested(
            "rl-" + UUID.randomUUID(),
            ref.asString(),
            c.requestedBy(),
            rt.deps.clock().instant(),
            cid);
    return rt.effect
        .persist(event)
        .thenRun(
            st -> {
              rt.audit.record(
                  "tenant.link-l1.request",
                  "l1",
                  ref,
                  "previous",
                  s.l1Reference(),
                  "by",
                  c.requestedBy(),
                  "request",
                  event.requestId(),
                  "cid",
                  cid,
                  "outcome",
                  "pending");
              rt.publish(
                  TenantEventKind.L1_LINK_REQUESTED,
                  "re-link to "
                      + ref
                      + " requested by "
                      + c.requestedBy()
                      + " ("
                      + event.requestId()
                      + ")");
            })
        .thenReply(c.replyTo(), st -> StatusReply.success(rt.summary((Registered) st)));
  }

  /** Why {@code ref} may not become this tenant's L1, if it may not. */
  private Optional<OpenKcmException> refusal(Registered s, L1Reference ref) {
    if (s.revocation().isPresent()) {
      return Optional.of(
          new OpenKcmException(
              ErrorReason.L1_REVOKED,
              "tenant "
                  + rt.tenantId
                  + ": its L1 "
                  + s.l1Reference()
                  + " is revoked by the customer; a re-link would take the tenant from the"
                  + " customer's key"));
    }
    if (!ref.keyDomain().equals(s.keyDomain())) {
      return Optional.of(
          new OpenKcmException(
              ErrorReason.L1_REJECTED,
              "tenant "
                  + rt.tenantId
                  + ": L1 "
                  + ref
                  + " is outside the key domain "
                  + s.keyDomain()
                  + " pinned at onboarding (the customer's own keys only)"));
    }
    if (ref.asString().equals(s.l1Reference())) {
      return Optional.of(
          new OpenKcmException(
              ErrorReason.INVALID_ARGUMENT,
              "tenant " + rt.tenantId + " is already linked to " + ref));
    }
    return Optional.empty();
  }

  ReplyEffect<Event, TenantState> onApprove(Registered s, ApproveL1Link c) {
    String cid = TenantRuntime.correlation(c.correlationId());
    Optional<PendingL1Link> pending =
        s.pendingLink().filter(p -> p.requestId().equals(c.requestId()));
    if (pending.isEmpty()) {
      return rt.effect.reply(
          c.replyTo(),
          reject(
              ErrorReason.INVALID_ARGUMENT,
              "tenant "
                  + rt.tenantId
                  + " has no pending re-link request "
                  + Fields.safe(c.requestId())
                  + s.pendingLink().map(p -> " (pending: " + p.requestId() + ")").orElse("")));
    }
    PendingL1Link link = pending.get();
    if (c.approvedBy().isBlank() || c.approvedBy().equals(link.requestedBy())) {
      rt.audit.record(
          "tenant.link-l1.approve",
          "request",
          link.requestId(),
          "by",
          c.approvedBy(),
          "cid",
          cid,
          "outcome",
          "PERMISSION_DENIED",
          "why",
          "four-eyes");
      return rt.effect.reply(
          c.replyTo(),
          reject(
              ErrorReason.PERMISSION_DENIED,
              "re-link "
                  + link.requestId()
                  + " was requested by "
                  + link.requestedBy()
                  + "; another identity must approve it"));
    }
    L1Reference next = L1Reference.parse(link.l1Reference());
    Optional<OpenKcmException> refused = refusal(s, next);
    if (refused.isPresent()) {
      return close(s, link, refused.get(), c.approvedBy(), cid, c.replyTo());
    }
    CompletionStage<KeyMaterial> current;
    try {
      current = rt.unwrapL2(s, cid);
    } catch (OpenKcmException e) {
      return rt.effect.reply(c.replyTo(), reject(e));
    }
    Map<String, String> l1Context = rt.chain.l1Context(s.l2Version(), cid);
    log.info(
        "tenant {}: re-link {} approved by {}: asking the current L1 {} first, then {} (cid={})",
        rt.tenantId,
        link.requestId(),
        c.approvedBy(),
        s.l1Reference(),
        next,
        cid);
    Optional<UnsealedKeys> held = rt.keys();
    // the current L1 must give L2 back now: proof that the customer's key still answers
    CompletionStage<byte[]> linked =
        current
            .exceptionallyCompose(e -> CompletableFuture.failedFuture(new CurrentL1Failed(e)))
            .thenCompose(
                l2 -> {
                  boolean consistent = held.map(k -> k.l2().sameKeyAs(l2)).orElse(true);
                  if (!consistent) {
                    l2.wipe();
                    throw new IllegalStateException(
                        "the current L1 returned another L2 than the one in memory");
                  }
                  return rt.wrapVerified(next, l2, l1Context, cid)
                      .whenComplete((blob, failure) -> l2.wipe());
                });
    rt.callForBlob(new Linking(c, link, l1Context, cid), linked);
    return rt.effect.noReply();
  }

  /** The current L1 did not give L2 back during a re-link. */
  private static final class CurrentL1Failed extends RuntimeException {
    CurrentL1Failed(Throwable cause) {
      super(cause);
    }
  }

  ReplyEffect<Event, TenantState> onLinked(Registered s, Linking call, L1Answered answer) {
    rt.endCall(call);
    ApproveL1Link c = call.request();
    PendingL1Link link = call.link();
    String cid = call.correlationId();
    if (answer.failure().isPresent()) {
      return close(
              s, link, linkError(s, link, answer.failure().get()), c.approvedBy(), cid, c.replyTo())
          .thenUnstashAll();
    }
    byte[] sealedL2;
    try {
      sealedL2 = rt.chain.sealL2(answer.blob().orElseThrow());
    } catch (OpenKcmException e) {
      return rt.effect
          .reply(c.replyTo(), TenantRejections.<TenantSummary>reject(e))
          .thenUnstashAll();
    }
    L1Linked event =
        new L1Linked(
            link.l1Reference(),
            sealedL2,
            call.l1Context(),
            rt.deps.clock().instant(),
            cid,
            link.requestedBy(),
            c.approvedBy());
    return rt.effect
        .persist(event)
        .thenRun(
            st -> {
              if (rt.session() instanceof Unsealed u) {
                rt.session(new Unsealed(u.keys(), rt.deps.clock().instant()));
              }
              rt.audit.record(
                  "tenant.link-l1.approve",
                  "l1",
                  event.l1Reference(),
                  "previous",
                  s.l1Reference(),
                  "request",
                  link.requestId(),
                  "requested-by",
                  link.requestedBy(),
                  "approved-by",
                  c.approvedBy(),
                  "cid",
                  cid,
                  "outcome",
                  "ok");
              rt.publish(
                  TenantEventKind.L1_LINKED,
                  "L1 is now "
                      + event.l1Reference()
                      + " (requested by "
                      + link.requestedBy()
                      + ", approved by "
                      + c.approvedBy()
                      + ")");
            })
        .thenReply(c.replyTo(), st -> StatusReply.success(rt.summary((Registered) st)))
        .thenUnstashAll();
  }

  private OpenKcmException linkError(Registered s, PendingL1Link link, Throwable f) {
    Throwable cause = f instanceof CompletionException && f.getCause() != null ? f.getCause() : f;
    if (cause instanceof CurrentL1Failed current) {
      OpenKcmException why = rt.keystoreError(current.getCause(), s.l1Reference(), false);
      return new OpenKcmException(
          why.reason(), "the current L1 must answer before a re-link: " + why.getMessage());
    }
    if (cause instanceof IllegalStateException) {
      return new OpenKcmException(
          ErrorReason.INTERNAL, "tenant " + rt.tenantId + ": " + cause.getMessage());
    }
    return rt.keystoreError(f, link.l1Reference(), true);
  }

  /** Ends a re-link request with {@code e}: recorded, audited, published and answered. */
  private ReplyEffect<Event, TenantState> close(
      Registered s,
      PendingL1Link link,
      OpenKcmException e,
      String by,
      String cid,
      ActorRef<StatusReply<TenantSummary>> replyTo) {
    rt.audit.record(
        "tenant.link-l1.approve",
        "l1",
        link.l1Reference(),
        "request",
        link.requestId(),
        "by",
        by,
        "cid",
        cid,
        "outcome",
        e.reason());
    return rt.effect
        .persist(
            new L1LinkClosed(
                link.requestId(),
                e.reason().name(),
                e.getMessage(),
                by,
                rt.deps.clock().instant(),
                cid))
        .thenRun(
            st ->
                rt.publish(
                    TenantEventKind.L1_LINK_FAILED,
                    "re-link " + link.requestId() + " failed: " + e.reason()))
        .thenReply(replyTo, st -> TenantRejections.<TenantSummary>reject(e));
  }
}
