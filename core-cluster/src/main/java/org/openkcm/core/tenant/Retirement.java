package org.openkcm.core.tenant;

import static org.openkcm.core.tenant.TenantRejections.reject;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.openkcm.core.tenant.LifecycleProtocol.L3VersionsRetired;
import org.openkcm.core.tenant.LifecycleProtocol.RetireVersions;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.core.tenant.TenantState.ServiceKeys;
import org.openkcm.core.tenant.TenantState.WrappedL3;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.event.TenantEventKind;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retirement: the L3 versions of a service below a minimum decryption version are destroyed. Their
 * keys leave memory, their blobs leave the state, and — since older events still hold them — a
 * snapshot is taken without them and every event before it is deleted ({@link
 * TenantRuntime#purgeAfterSnapshot}). Envelopes under them answer KEY_VERSION_RETIRED.
 */
final class Retirement {

  private static final Logger log = LoggerFactory.getLogger(Retirement.class);

  private final TenantRuntime rt;

  Retirement(TenantRuntime rt) {
    this.rt = rt;
  }

  ReplyEffect<Event, TenantState> onRetire(Registered s, RetireVersions c) {
    ServiceKeys service = s.services().get(c.serviceId());
    if (service == null) {
      return rt.effect.reply(c.replyTo(), rt.serviceNotFound(c.serviceId()));
    }
    if (c.below() < 2 || c.below() > service.currentVersion()) {
      return rt.effect.reply(
          c.replyTo(),
          reject(
              ErrorReason.INVALID_ARGUMENT,
              "--below must be 2.."
                  + service.currentVersion()
                  + " (the active version of service "
                  + c.serviceId()
                  + " is "
                  + service.currentVersion()
                  + " and is never retired; rotate first), was "
                  + c.below()));
    }
    List<WrappedL3> gone =
        service.versions().stream().filter(w -> w.version() < c.below()).toList();
    String by = c.requestedBy().isBlank() ? "unknown" : c.requestedBy();
    L3VersionsRetired event =
        new L3VersionsRetired(
            c.serviceId(),
            c.below(),
            gone.stream().map(WrappedL3::version).toList(),
            gone.stream().map(w -> sha256(w.blob())).toList(),
            rt.deps.clock().instant(),
            TenantRuntime.correlation(c.correlationId()),
            by);
    // the snapshot after this event (and its signal) comes before the side effects below
    rt.purgeAfterSnapshot();
    return rt.effect
        .persist(event)
        .thenRun(
            st -> {
              rt.keys().ifPresent(k -> event.versions().forEach(v -> k.destroy(c.serviceId(), v)));
              log.warn(
                  "tenant {}: service {} L3 versions {} RETIRED by {} (below v{}): destroyed",
                  rt.tenantId,
                  c.serviceId(),
                  event.versions(),
                  by,
                  c.below());
              rt.audit.record(
                  "service.retire",
                  "service",
                  c.serviceId(),
                  "below",
                  c.below(),
                  "versions",
                  event.versions(),
                  "sha256",
                  event.blobSha256(),
                  "by",
                  by,
                  "cid",
                  event.correlationId(),
                  "outcome",
                  "ok");
              // gateways drop what they hold (pooled or cached keys of the retired versions)
              rt.publish(
                  TenantEventKind.KEY_ROTATED, c.serviceId() + " retired below v" + c.below());
            })
        .thenReply(c.replyTo(), st -> StatusReply.success(rt.summary((Registered) st)));
  }

  /** The SHA-256 of a destroyed blob, hex: what a receipt names (never the blob). */
  static String sha256(byte[] blob) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(blob));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
