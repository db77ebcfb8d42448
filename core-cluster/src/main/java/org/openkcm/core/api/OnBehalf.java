package org.openkcm.core.api;

import java.util.Optional;
import java.util.Set;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.openkcm.core.cluster.PeerRegions;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.Fields;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * Who acts on an admin call: the verified caller, or — only when a peer region's Core forwards one
 * of the writes a replica forwards home — the operator it names in {@value PeerIdentity#ON_BEHALF}.
 * The header is refused (PERMISSION_DENIED, audited) on every other method, from every other caller
 * (this region's own Cores, gateways, apps, admins, an unknown region's Core), and when it names
 * anything but an {@code admin/} identity of the caller's trust domain. An accepted one is audited
 * naming both the forwarding Core and the operator.
 */
final class OnBehalf {

  /** The admin actions a replica forwards to the tenant's home region ({@link HomeForwarder}). */
  static final Set<String> FORWARDED =
      Set.of("CreateService", "RotateServiceKey", "RotateTenantKey", "RewrapTenantKey");

  private final PeerRegions peers;

  OnBehalf(PeerRegions peers) {
    this.peers = peers;
  }

  /**
   * The identity acting on {@code action}: the caller, or the operator a peer region's Core
   * forwards for; throws PERMISSION_DENIED for a header that may not be believed.
   */
  Optional<SpiffeId> acting(Metadata md, String action) {
    Optional<SpiffeId> caller = PeerIdentity.of(md);
    Optional<String> named = md.getText(PeerIdentity.ON_BEHALF);
    if (named.isEmpty() || caller.isEmpty()) {
      return caller; // plaintext test listener: no identity to believe anything of
    }
    SpiffeId via = caller.get();
    if (!FORWARDED.contains(action)) {
      throw refused(via, action, "is honoured only on the writes a replica forwards " + FORWARDED);
    }
    Optional<String> region = via.kind().equals("core") ? peers.regionOf(via) : Optional.empty();
    if (region.isEmpty()) {
      throw refused(
          via, action, "is honoured only from a peer region's Core (openkcm.orbital.peers)");
    }
    SpiffeId operator;
    try {
      operator = SpiffeId.parse(named.get());
    } catch (IllegalArgumentException e) {
      throw refused(via, action, "does not name a SPIFFE id: " + e.getMessage());
    }
    if (!operator.kind().equals("admin") || !operator.trustDomain().equals(via.trustDomain())) {
      throw refused(
          via,
          action,
          "must name an admin/ identity of " + via.trustDomain() + ", not " + operator.uri());
    }
    AuditLog.record(
        "admin.forwarded",
        "action",
        action,
        "operator",
        operator.uri(),
        "via",
        via.uri(),
        "region",
        region.get());
    return Optional.of(operator);
  }

  /**
   * The identity acting, for records ("requested by") of a call {@link #acting} already admitted:
   * the operator of an accepted forward, otherwise the caller.
   */
  Optional<SpiffeId> actingAdmitted(Metadata md) {
    Optional<SpiffeId> caller = PeerIdentity.of(md);
    Optional<String> named = md.getText(PeerIdentity.ON_BEHALF);
    if (named.isEmpty()
        || caller.isEmpty()
        || !caller.get().kind().equals("core")
        || peers.regionOf(caller.get()).isEmpty()) {
      return caller;
    }
    try {
      SpiffeId operator = SpiffeId.parse(named.get());
      return operator.kind().equals("admin") ? Optional.of(operator) : caller;
    } catch (IllegalArgumentException e) {
      return caller;
    }
  }

  private static OpenKcmException refused(SpiffeId via, String action, String why) {
    String message =
        PeerIdentity.ON_BEHALF + " from " + via.uri() + " on " + action + " refused: it " + why;
    AuditLog.record(
        "admin.forward-refused", "action", action, "via", via.uri(), "why", Fields.safe(why));
    return new OpenKcmException(ErrorReason.PERMISSION_DENIED, message);
  }
}
