package org.openkcm.core.tenant;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.openkcm.core.tenant.KeyBatch.UnwrapItem;
import org.openkcm.core.tenant.KeyBatch.UnwrapOutcome;
import org.openkcm.core.tenant.KeyBatch.Unwrapped;
import org.openkcm.core.tenant.KeyBatch.WrapItem;
import org.openkcm.core.tenant.KeyBatch.Wrapped;
import org.openkcm.core.tenant.TenantState.Registered;
import org.openkcm.core.tenant.TenantState.ServiceKeys;
import org.openkcm.protocol.envelope.EncryptionContext;
import org.openkcm.protocol.envelope.Envelope;
import org.openkcm.protocol.envelope.EnvelopeCipher;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.envelope.EnvelopeException;
import org.openkcm.protocol.envelope.NonceBatch;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * A tenant whose entity lives on this node, unsealed and serving, as its entity last answered an
 * unwrap: the key listener unwraps with it on the caller's thread, without the ask → shard region →
 * shard → entity hops (a Decrypt's most common Core call).
 *
 * <p>It answers exactly what the entity would, or nothing (then the caller asks the entity):
 *
 * <ul>
 *   <li>The entity publishes it ({@link ResidentTenants}) only after answering an unwrap or a wrap
 *       in a serving state, and closes it before it handles <em>any</em> other command (a wrap
 *       included) or signal and before its keys are wiped — so state, keys and sequence never
 *       change under it.
 *   <li>Wraps spend an allowance per service: what the current L3 version may still make within the
 *       nonce budget the journal has reserved and before its rotation is due, so a direct wrap
 *       never needs an event. When it runs out the entity wraps (and reserves, or rotates). On
 *       close the entity counts what was spent ({@link #spent()}).
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
  private final Map<String, Allowance> allowances;
  private final AtomicInteger using = new AtomicInteger();
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
    this.allowances = allowances(state, keys, deps.settings().lifecycle());
  }

  /**
   * The wraps the current L3 version of a service may still make with no event: within the budget
   * reserved in the journal and below the nonce budget's rotation point.
   */
  private static final class Allowance {
    final long version;
    final EnvelopeCipher cipher;
    final long granted;
    final AtomicLong left;

    Allowance(long version, EnvelopeCipher cipher, long granted) {
      this.version = version;
      this.cipher = cipher;
      this.granted = granted;
      this.left = new AtomicLong(granted);
    }

    /** Takes {@code n} wraps if that many are left. */
    boolean take(int n) {
      return left.getAndUpdate(l -> l >= n ? l - n : l) >= n;
    }
  }

  private static Map<String, Allowance> allowances(
      Registered s, UnsealedKeys keys, KeyLifecycle life) {
    Map<String, Allowance> out = new HashMap<>();
    for (ServiceKeys service : s.services().values()) {
      long version = service.currentVersion();
      Optional<EnvelopeCipher> cipher = keys.cipher(service.serviceId(), version);
      if ((service.pinned() && s.isReplica()) || cipher.isEmpty()) {
        continue; // the entity refuses (or unseals) these
      }
      long limit = Math.min(service.info(version).wrapsReserved(), life.rotateAtWraps());
      long granted = limit - keys.wraps(service.serviceId(), version);
      if (granted > 0) {
        out.put(service.serviceId(), new Allowance(version, cipher.get(), granted));
      }
    }
    return out;
  }

  String tenantId() {
    return tenantId;
  }

  /**
   * The answer of the tenant's entity to unwrapping {@code items}, or empty when only the entity
   * may answer (closed, a kill or silent home region in force, an empty or oversized batch).
   */
  Optional<Unwrapped> unwrap(List<UnwrapItem> items) {
    using.incrementAndGet();
    try {
      if (closed || items.isEmpty() || items.size() > maxBatch || refused()) {
        return Optional.empty();
      }
      return Optional.of(new Unwrapped(unwrapAll(state, keys, items), sequence));
    } finally {
      using.decrementAndGet();
    }
  }

  /**
   * The answer of the tenant's entity to wrapping {@code items} with service {@code serviceId}'s
   * current L3, or empty when only the entity may answer (closed, refused as above, an unknown or
   * pinned service, an invalid item, the allowance spent).
   */
  Optional<Wrapped> wrap(String serviceId, List<WrapItem> items) {
    using.incrementAndGet();
    try {
      Allowance allowance = allowances.get(serviceId);
      if (closed
          || allowance == null
          || items.isEmpty()
          || items.size() > maxBatch
          || !items.stream().allMatch(ResidentTenant::isDataKey)
          || refused()
          || !allowance.take(items.size())) {
        return Optional.empty();
      }
      List<byte[]> envelopes;
      try {
        envelopes = wrapAll(allowance.cipher, items, deps.random());
      } catch (ItemRefused e) {
        return Optional.empty(); // the entity words the refusal (the wraps stay counted)
      }
      return Optional.of(new Wrapped(envelopes, allowance.version, sequence));
    } finally {
      using.decrementAndGet();
    }
  }

  private static boolean isDataKey(WrapItem item) {
    int length = item.plaintext().length;
    return length == 16 || length == 24 || length == 32;
  }

  /** The wraps made with one L3 version of one service. */
  record Spent(String serviceId, long l3Version, long wraps) {}

  /** Wraps spent per service (its current L3 version); complete once {@link #close()} returned. */
  List<Spent> spent() {
    List<Spent> out = new ArrayList<>();
    allowances.forEach(
        (service, a) -> {
          long spent = a.granted - a.left.get();
          if (spent > 0) {
            out.add(new Spent(service, a.version, spent));
          }
        });
    return out;
  }

  /** Whether something outside the entity's commands refuses the tenant now. */
  private boolean refused() {
    return deps.killSwitch().engaged().isPresent()
        || deps.pendingKills().get(tenantId).isPresent()
        || (state.isReplica() && heartbeats.silent(state.homeRegion()).isPresent());
  }

  /**
   * No unwrap or wrap starts with this view any more, and none is still running when this returns
   * (they take microseconds: the entity spins rather than parks).
   */
  void close() {
    closed = true;
    while (using.get() != 0) {
      Thread.onSpinWait();
    }
  }

  /** An item a wrap refused: its index in the batch and why. */
  static final class ItemRefused extends Exception {
    final int index;
    final EnvelopeException cause;

    ItemRefused(int index, EnvelopeException cause) {
      super("item " + index + ": " + cause.getMessage(), null, false, false);
      this.index = index;
      this.cause = cause;
    }
  }

  /**
   * Wraps every item with {@code cipher}, nonces drawn for the batch at once, each DEK's copy wiped
   * (the entity's path and the listener's share this).
   */
  static List<byte[]> wrapAll(EnvelopeCipher cipher, List<WrapItem> items, SecureRandom random)
      throws ItemRefused {
    List<byte[]> envelopes = new ArrayList<>(items.size());
    EncryptionContext.Memo contexts = new EncryptionContext.Memo();
    NonceBatch nonces = new NonceBatch(random, items.size());
    for (int i = 0; i < items.size(); i++) {
      WrapItem item = items.get(i);
      KeyMaterial dek = KeyMaterial.copyOf(item.plaintext());
      try {
        envelopes.add(cipher.wrap(dek, contexts.of(item.context()), nonces));
      } catch (EnvelopeException e) {
        throw new ItemRefused(i, e);
      } finally {
        dek.wipe();
      }
    }
    return envelopes;
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
