package org.openkcm.core.tenant;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.openkcm.core.seal.MasterKey;
import org.openkcm.core.tenant.LifecycleProtocol.L2Rewrapped;
import org.openkcm.core.tenant.LifecycleProtocol.L2Rotated;
import org.openkcm.core.tenant.LifecycleProtocol.L3Rotated;
import org.openkcm.core.tenant.LifecycleProtocol.WrapBudgetReserved;
import org.openkcm.core.tenant.TenantEntity.BlobsResealed;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.core.tenant.TenantEntity.L1Linked;
import org.openkcm.core.tenant.TenantEntity.ServiceCreated;
import org.openkcm.core.tenant.TenantEntity.TenantOnboarded;
import org.openkcm.core.tenant.TenantState.WrappedL3;

/**
 * What of a tenant's history crosses regions, and in which form. An event leaves its region in a
 * <em>portable</em> form: every blob keeps the customer's L1 (an L2) or an L2 (an L3) around it,
 * but loses this region's master-key seal; the receiving region seals it with its own. Region-local
 * events (a region's nonce-budget reservations, its seal migration) never cross.
 */
public final class TenantReplication {

  /** The journal tag of events that originate in this region (replicated ones are not tagged). */
  public static final String TAG = org.openkcm.core.persistence.JournalTags.ORBITAL;

  private TenantReplication() {}

  /** Whether {@code event} (written in this region) is shipped to the other regions. */
  static boolean crosses(Event event) {
    return !(event instanceof WrapBudgetReserved
        || event instanceof BlobsResealed
        || event instanceof TenantEntity.Replicated
        || (event instanceof L3Rotated r && r.pinned()));
  }

  /**
   * {@code event} of {@code tenantId} without this region's master-key seal on its blobs; empty
   * when it does not cross regions.
   */
  public static Optional<Event> portable(String tenantId, Event event, MasterKey master) {
    if (!crosses(event)) {
      return Optional.empty();
    }
    Blobs b = new Blobs(tenantId, master, false);
    return Optional.of(b.convert(event));
  }

  /** The portable {@code event} sealed with this region's master key (as the chain stores it). */
  static Event sealed(String tenantId, Event event, MasterKey master) {
    return new Blobs(tenantId, master, true).convert(event);
  }

  /**
   * Opens or seals every blob of an event with the master key, by the purposes of {@link KeyChain}.
   */
  private record Blobs(String tenantId, MasterKey master, boolean seal) {

    byte[] l2(byte[] blob) {
      String purpose = KeyChain.l2Purpose(tenantId);
      return seal ? master.seal(blob, purpose) : master.open(blob, purpose);
    }

    byte[] l3(String serviceId, long version, byte[] blob) {
      String purpose = KeyChain.l3Purpose(tenantId, serviceId, version);
      return seal ? master.seal(blob, purpose) : master.open(blob, purpose);
    }

    Event convert(Event e) {
      if (e instanceof TenantOnboarded o) {
        return new TenantOnboarded(
            o.tenantId(),
            o.l1Reference(),
            o.l2Version(),
            l2(o.wrappedL2()),
            o.l1Context(),
            o.at(),
            o.correlationId());
      } else if (e instanceof ServiceCreated c) {
        // a pinned service crosses as its name only: its L3 never leaves the home region
        byte[] blob =
            c.pinned() || c.wrappedL3().length == 0
                ? new byte[0]
                : l3(c.serviceId(), c.l3Version(), c.wrappedL3());
        return new ServiceCreated(
            c.serviceId(),
            c.l3Version(),
            c.l2Version(),
            blob,
            c.at(),
            c.correlationId(),
            c.pinned());
      } else if (e instanceof L3Rotated r) {
        return new L3Rotated(
            r.serviceId(),
            r.l3Version(),
            r.l2Version(),
            l3(r.serviceId(), r.l3Version(), r.wrappedL3()),
            r.at(),
            r.correlationId(),
            r.by(),
            r.reason(),
            r.pinned());
      } else if (e instanceof L1Linked l) {
        return new L1Linked(
            l.l1Reference(),
            l2(l.wrappedL2()),
            l.l1Context(),
            l.at(),
            l.correlationId(),
            l.requestedBy(),
            l.approvedBy());
      } else if (e instanceof L2Rewrapped r) {
        return new L2Rewrapped(l2(r.wrappedL2()), r.l1Context(), r.at(), r.correlationId(), r.by());
      } else if (e instanceof L2Rotated r) {
        Map<String, List<WrappedL3>> l3s = new TreeMap<>();
        r.l3Versions()
            .forEach(
                (service, versions) -> {
                  if (r.pinnedServices().contains(service)) {
                    return; // never leaves (and never arrives)
                  }
                  List<WrappedL3> next = new ArrayList<>();
                  for (WrappedL3 w : versions) {
                    next.add(
                        new WrappedL3(
                            w.version(), w.l2Version(), l3(service, w.version(), w.blob())));
                  }
                  l3s.put(service, List.copyOf(next));
                });
        return new L2Rotated(
            r.l2Version(),
            l2(r.wrappedL2()),
            r.l1Context(),
            l3s,
            r.at(),
            r.correlationId(),
            r.by(),
            r.reason(),
            r.pinnedServices());
      }
      return e; // no blob inside
    }
  }
}
