package org.openkcm.core.tenant;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.openkcm.core.serialization.CborSerializable;
import org.openkcm.core.tenant.LifecycleProtocol.Offboard;
import org.openkcm.core.tenant.LifecycleProtocol.TenantOffboarded;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.core.tenant.TenantState.Offboarded;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.core.tenant.TenantState.ServiceKeys;
import org.openkcm.core.tenant.TenantState.WrappedL3;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.event.TenantEventKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tenant offboarding: every L2 and L3 version is destroyed — keys out of memory, blobs out of the
 * state, and (after a snapshot of the blob-free {@link Offboarded} state) every earlier event and
 * snapshot deleted. Gateways drop the tenant's vault keys on the event. The answer is a destruction
 * receipt; afterwards the tenant answers TENANT_OFFBOARDED to everything and is not re-created
 * under the same id without an explicit flag.
 */
public final class Offboarding {

  private static final Logger log = LoggerFactory.getLogger(Offboarding.class);

  /** One destroyed key version: L2, or an L3 of a service, named by the SHA-256 of its blob. */
  public record DestroyedKey(String kind, String serviceId, long version, String sha256)
      implements CborSerializable {}

  /** What was destroyed, when, by whom and why. */
  public record Receipt(
      String tenantId, Instant at, String by, String reason, List<DestroyedKey> destroyed)
      implements CborSerializable {}

  private final TenantRuntime rt;

  Offboarding(TenantRuntime rt) {
    this.rt = rt;
  }

  ReplyEffect<Event, TenantState> onOffboard(Registered s, Offboard c) {
    if (c.reason().isBlank()) {
      return rt.effect.reply(
          c.replyTo(),
          TenantRejections.reject(
              ErrorReason.INVALID_ARGUMENT, "offboarding needs a reason (it goes on the receipt)"));
    }
    List<DestroyedKey> destroyed = new ArrayList<>();
    destroyed.add(new DestroyedKey("L2", "", s.l2Version(), Retirement.sha256(s.wrappedL2())));
    for (ServiceKeys service : s.services().values()) {
      for (WrappedL3 w : service.versions()) {
        destroyed.add(
            new DestroyedKey("L3", service.serviceId(), w.version(), Retirement.sha256(w.blob())));
      }
    }
    String by = c.requestedBy().isBlank() ? "unknown" : c.requestedBy();
    TenantOffboarded event =
        new TenantOffboarded(
            rt.tenantId,
            c.reason(),
            by,
            rt.deps.clock().instant(),
            TenantRuntime.correlation(c.correlationId()),
            List.copyOf(destroyed));
    rt.wipeKeys("offboarded");
    rt.abandonCall();
    rt.purgeAfterSnapshot();
    return rt.effect
        .persist(event)
        .thenRun(
            st -> {
              log.warn(
                  "tenant {}: OFFBOARDED by {} (reason: {}); {} key versions destroyed",
                  rt.tenantId,
                  by,
                  c.reason(),
                  destroyed.size());
              rt.audit.record(
                  "tenant.offboard",
                  "by",
                  by,
                  "reason",
                  c.reason(),
                  "destroyed",
                  destroyed.size(),
                  "cid",
                  event.correlationId(),
                  "outcome",
                  "ok");
              rt.publish(TenantEventKind.OFFBOARDED, c.reason());
            })
        .thenReply(c.replyTo(), st -> StatusReply.success(receipt((Offboarded) st)))
        .thenUnstashAll();
  }

  /** Offboarding an offboarded tenant answers its receipt again. */
  ReplyEffect<Event, TenantState> onOffboardAgain(Offboarded s, Offboard c) {
    return rt.effect.reply(c.replyTo(), StatusReply.success(receipt(s)));
  }

  static Receipt receipt(Offboarded s) {
    return new Receipt(s.tenantId(), s.at(), s.by(), s.reason(), s.destroyed());
  }

  /** The answer of everything but a re-creation with the explicit flag. */
  static OpenKcmException offboarded(Offboarded s) {
    return new OpenKcmException(
        ErrorReason.TENANT_OFFBOARDED,
        "tenant "
            + s.tenantId()
            + " was offboarded on "
            + s.at()
            + " by "
            + s.by()
            + ": every key of it is destroyed (re-creating the id needs --reuse-offboarded-id)");
  }
}
