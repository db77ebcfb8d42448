package org.openkcm.core.tenant;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.openkcm.core.tenant.KeyBatch.UnwrapItem;
import org.openkcm.core.tenant.KeyBatch.UnwrapOutcome;
import org.openkcm.core.tenant.KeyBatch.Unwrapped;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.core.tenant.TenantState.ServiceKeys;
import org.openkcm.protocol.envelope.EncryptionContext;
import org.openkcm.protocol.envelope.Envelope;
import org.openkcm.protocol.envelope.EnvelopeCipher;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.envelope.EnvelopeException;
import org.openkcm.protocol.error.ErrorReason;

/**
 * A tenant whose entity lives on this node, unsealed and serving, as its entity last answered an
 * unwrap: the key listener unwraps with it on the caller's thread, without the ask → shard region →
 * shard → entity hops (a Decrypt's most common Core call).
 *
 * <p>It answers exactly what the entity would, or nothing (then the caller asks the entity):
 *
 * <ul>
 *   <li>The entity publishes it ({@link ResidentTenants}) only after answering an unwrap in a
 *       serving state, and closes it before it handles <em>any</em> other command or signal and
 *       before its keys are wiped — so state, keys and sequence never change under it.
 *   <li>{@link #close()} waits for the unwraps in progress to finish: once the entity goes on (a
 *       kill, a wipe, a rotation), no unwrap of the old view can still answer.
 *   <li>What can change without a command is checked on every call: a region/global kill-switch, a
 *       kill this node accepted and has not persisted, a replica's silent home region. Any of them
 *       sends the call to the entity, which refuses it with the right reason.
 * </ul>
 */
public final class ResidentTenant {

  private final String tenantId;
  private final Registered state;
  private final UnsealedKeys keys;
  private final long sequence;
  private final int maxBatch;
  private final TenantDependencies deps;
  private final HomeRegionHeartbeats heartbeats;
  private final AtomicInteger unwrapping = new AtomicInteger();
  private volatile boolean closed;

  ResidentTenant(
      Registered state,
      UnsealedKeys keys,
      long sequence,
      TenantDependencies deps,
      HomeRegionHeartbeats heartbeats) {
    this.tenantId = state.tenantId();
    this.state = state;
    this.keys = keys;
    this.sequence = sequence;
    this.maxBatch = deps.settings().maxBatchSize();
    this.deps = deps;
    this.heartbeats = heartbeats;
  }

  String tenantId() {
    return tenantId;
  }

  /**
   * The answer of the tenant's entity to unwrapping {@code items}, or empty when only the entity
   * may answer (closed, a kill or silent home region in force, an empty or oversized batch).
   */
  Optional<Unwrapped> unwrap(List<UnwrapItem> items) {
    unwrapping.incrementAndGet();
    try {
      if (closed || items.isEmpty() || items.size() > maxBatch || refused()) {
        return Optional.empty();
      }
      return Optional.of(new Unwrapped(unwrapAll(state, keys, items), sequence));
    } finally {
      unwrapping.decrementAndGet();
    }
  }

  /** Whether something outside the entity's commands refuses the tenant now. */
  private boolean refused() {
    return deps.killSwitch().engaged().isPresent()
        || deps.pendingKills().get(tenantId).isPresent()
        || (state.isReplica() && heartbeats.silent(state.homeRegion()).isPresent());
  }

  /**
   * No unwrap starts with this view any more, and none is still running when this returns (they
   * take microseconds: the entity spins rather than parks).
   */
  void close() {
    closed = true;
    while (unwrapping.get() != 0) {
      Thread.onSpinWait();
    }
  }

  /** Unwraps every item with the tenant's keys: one outcome per item, in order. */
  static List<UnwrapOutcome> unwrapAll(Registered s, UnsealedKeys keys, List<UnwrapItem> items) {
    List<UnwrapOutcome> outcomes = new ArrayList<>(items.size());
    EncryptionContext.Memo contexts = new EncryptionContext.Memo();
    for (UnwrapItem item : items) {
      outcomes.add(unwrapOne(s, keys, item, contexts));
    }
    return outcomes;
  }

  private static UnwrapOutcome unwrapOne(
      Registered s, UnsealedKeys keys, UnwrapItem item, EncryptionContext.Memo contexts) {
    try {
      Envelope env = EnvelopeCodec.decode(item.envelope());
      if (!env.tenantId().equals(s.tenantId())) {
        return UnwrapOutcome.failed(
            ErrorReason.ENVELOPE_TENANT_MISMATCH,
            "envelope belongs to another tenant, not to " + s.tenantId());
      }
      ServiceKeys service = s.services().get(env.serviceId());
      if (service == null) {
        return UnwrapOutcome.failed(
            ErrorReason.SERVICE_NOT_FOUND,
            "envelope names service "
                + env.serviceId()
                + ", which tenant "
                + s.tenantId()
                + " does not have");
      }
      if (service.pinned() && s.isReplica()) {
        return UnwrapOutcome.failed(
            ErrorReason.SERVICE_PINNED, ChainCommands.pinned(s, service.serviceId()));
      }
      if (env.l3Version() < service.retiredBelow()) {
        return UnwrapOutcome.failed(
            ErrorReason.KEY_VERSION_RETIRED, ChainCommands.retired(service, env));
      }
      Optional<EnvelopeCipher> cipher = keys.cipher(env.serviceId(), env.l3Version());
      if (cipher.isEmpty()) {
        return UnwrapOutcome.failed(
            ErrorReason.L3_VERSION_UNKNOWN,
            "envelope names L3 version "
                + env.l3Version()
                + " of service "
                + env.serviceId()
                + ", which does not exist");
      }
      var dek = cipher.get().unwrap(env, contexts.of(item.context()));
      byte[] plaintext = dek.revealBytes();
      dek.wipe();
      return UnwrapOutcome.ok(plaintext);
    } catch (EnvelopeException e) {
      return UnwrapOutcome.failed(ErrorReason.of(e.reason()), e.getMessage());
    }
  }
}
