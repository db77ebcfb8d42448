package org.openkcm.gateway.pool;

import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.openkcm.gateway.corelink.CoreLink;
import org.openkcm.gateway.tenantwatch.TenantStates;
import org.openkcm.protocol.error.Fields;
import org.openkcm.protocol.key.KeyMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pre-generated, already wrapped DEKs per (tenant, service, key length, encryption context), so
 * that GenerateDataKey is answered without a Core round trip. A pool refills itself in the
 * background with one batched WrapKeys call when it falls below half its target; the target doubles
 * (up to a bound) whenever a request finds the pool empty, and halves (down to a floor) when a
 * refill finds it still more than half full. Pools are dropped (their plaintexts wiped) on kill,
 * revocation, kill-switch and a lost watch.
 *
 * <p>The envelope binds the caller's encryption context, so a pooled DEK can serve only requests
 * with the very same context. A pool is therefore made only when a context comes back: the first
 * request with a context goes to the Core alone and is remembered (a bounded set of recent
 * contexts); a second one makes the pool. A unique context per record (the usual AWS-style
 * practice) thus costs one Core wrap per request and no pooled DEKs nobody will take. Pools are
 * bounded per tenant (a tenant past its quota loses its own least recently used pool) and in all
 * (the tenant holding the most pools loses its least recently used one), so one tenant cannot evict
 * another's pools.
 */
public final class DekPool {

  private static final Logger log = LoggerFactory.getLogger(DekPool.class);

  /** Settings from {@code openkcm.gateway.pool}. */
  public record Settings(
      int minTarget, int maxTarget, int maxPools, int maxPoolsPerTenant, int rememberContexts) {}

  record Key(String tenantId, String serviceId, int keyLength, Map<String, String> context) {
    Key {
      context = new TreeMap<>(context);
    }
  }

  /** One ready DEK: its plaintext (owned by the taker, who must wipe it) and its envelope. */
  public record Pooled(KeyMaterial dek, byte[] envelope, int l3Version) {
    @Override
    public String toString() {
      return "Pooled[redacted]";
    }
  }

  private final class Pool {
    final Key key;
    final ArrayDeque<Pooled> ready = new ArrayDeque<>();
    int target;
    boolean refilling;

    Pool(Key key) {
      this.key = key;
      this.target = settings.minTarget();
    }
  }

  private final Settings settings;
  private final CoreLink core;
  private final TenantStates tenants;
  private final SecureRandom random;
  private final LinkedHashMap<Key, Pool> pools = new LinkedHashMap<>(16, 0.75f, true);
  private final Map<String, Integer> poolsPerTenant = new java.util.HashMap<>();

  /** Contexts seen once and not pooled (yet): the second request with one makes its pool. */
  private final LinkedHashMap<Key, Boolean> seenOnce;

  private final java.util.concurrent.atomic.AtomicLong refills =
      new java.util.concurrent.atomic.AtomicLong();
  private final java.util.concurrent.atomic.AtomicLong refillFailures =
      new java.util.concurrent.atomic.AtomicLong();

  public DekPool(Settings settings, CoreLink core, TenantStates tenants, SecureRandom random) {
    this.settings = settings;
    this.core = core;
    this.tenants = tenants;
    this.random = random;
    this.seenOnce =
        new LinkedHashMap<>(16, 0.75f, true) {
          @Override
          protected boolean removeEldestEntry(Map.Entry<Key, Boolean> eldest) {
            return size() > settings.rememberContexts();
          }
        };
  }

  /** A ready DEK for this request, if the pool has one and the tenant may be served locally. */
  public Optional<Pooled> take(
      String tenantId, String serviceId, int keyLength, Map<String, String> context) {
    return takeOrWarm(tenantId, serviceId, keyLength, context, true);
  }

  /**
   * Makes sure a pool for these parameters exists and is filling (after a direct Core call
   * succeeded).
   */
  public void warm(String tenantId, String serviceId, int keyLength, Map<String, String> context) {
    takeOrWarm(tenantId, serviceId, keyLength, context, false);
  }

  private Optional<Pooled> takeOrWarm(
      String tenantId, String serviceId, int keyLength, Map<String, String> context, boolean take) {
    if (!tenants.mayServeLocally(tenantId)) {
      return Optional.empty();
    }
    Key key = new Key(tenantId, serviceId, keyLength, context);
    Pooled taken;
    Pool toRefill = null;
    synchronized (this) {
      Pool pool = pools.get(key);
      if (pool == null) {
        if (!take || seenOnce.remove(key) == null) {
          // first sight, or the warm-up after that first request's direct Core call: remember the
          // context, make nothing yet
          seenOnce.put(key, Boolean.TRUE);
          return Optional.empty();
        }
        pool = new Pool(key);
        pools.put(key, pool);
        poolsPerTenant.merge(tenantId, 1, Integer::sum);
        evictIfNeeded(tenantId);
      }
      taken = take ? pool.ready.pollFirst() : null;
      if (take && taken == null) {
        pool.target = Math.min(settings.maxTarget(), pool.target * 2);
      }
      if (pool.ready.size() < pool.target / 2 && !pool.refilling) {
        pool.refilling = true;
        toRefill = pool;
      }
    }
    if (toRefill != null) {
      refill(
          toRefill); // outside the lock: generating hundreds of DEKs must not hold up other takers
    }
    return Optional.ofNullable(taken);
  }

  private void refill(Pool pool) {
    int n;
    synchronized (this) {
      n = pool.target - pool.ready.size();
      if (pool.ready.size() > pool.target / 2 && pool.target > settings.minTarget()) {
        pool.target = Math.max(settings.minTarget(), pool.target / 2);
      }
    }
    if (n <= 0) {
      synchronized (this) {
        pool.refilling = false;
      }
      return;
    }
    long token = tenants.generation();
    List<byte[]> plaintexts = new ArrayList<>(n);
    List<CoreLink.ToWrap> items = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      byte[] dek = new byte[pool.key.keyLength()];
      random.nextBytes(dek);
      plaintexts.add(dek);
      items.add(new CoreLink.ToWrap(dek, pool.key.context()));
    }
    core.wrap(
            pool.key.tenantId(),
            pool.key.serviceId(),
            items,
            "pool-refill-" + Fields.newCorrelationId())
        .whenComplete(
            (wrapped, failure) -> {
              synchronized (this) {
                pool.refilling = false;
                // a refill is a Core answer for the tenant: it renews the tenant's lease (unless
                // anything happened since)
                boolean stillValid =
                    failure == null
                        && pools.get(pool.key) == pool
                        && tenants.confirm(pool.key.tenantId(), token);
                for (int i = 0; i < plaintexts.size(); i++) {
                  if (stillValid) {
                    pool.ready.addLast(
                        new Pooled(
                            KeyMaterial.adopt(plaintexts.get(i)),
                            wrapped.getEnvelopes(i).toByteArray(),
                            wrapped.getL3Version()));
                  } else {
                    java.util.Arrays.fill(plaintexts.get(i), (byte) 0);
                  }
                }
              }
              (failure == null ? refills : refillFailures).incrementAndGet();
              if (failure != null) {
                log.debug(
                    "pool refill for {}/{} failed: {}",
                    pool.key.tenantId(),
                    pool.key.serviceId(),
                    failure.toString());
              }
            });
  }

  /** Refills the Core answered (each one WrapKeys call of up to a pool's target). */
  public long refills() {
    return refills.get();
  }

  /** Refills that failed (the pool then serves what it has and asks again on the next take). */
  public long refillFailures() {
    return refillFailures.get();
  }

  /** Drops and wipes the pools of {@code tenantId}, or every pool when it is {@code null}. */
  public synchronized void flush(String tenantId) {
    Iterator<Map.Entry<Key, Pool>> it = pools.entrySet().iterator();
    while (it.hasNext()) {
      Pool p = it.next().getValue();
      if (tenantId == null || p.key.tenantId().equals(tenantId)) {
        p.ready.forEach(d -> d.dek().wipe());
        p.ready.clear();
        it.remove();
        poolsPerTenant.computeIfPresent(p.key.tenantId(), (t, n) -> n <= 1 ? null : n - 1);
      }
    }
    if (tenantId == null) {
      seenOnce.clear();
    } else {
      seenOnce.keySet().removeIf(k -> k.tenantId().equals(tenantId));
    }
  }

  /** Ready DEKs across all pools (for tests and metrics). */
  public synchronized int readyCount() {
    return pools.values().stream().mapToInt(p -> p.ready.size()).sum();
  }

  /** Keeps {@code tenantId} within its quota, then everyone within the total. */
  private void evictIfNeeded(String tenantId) {
    while (poolsPerTenant.getOrDefault(tenantId, 0) > settings.maxPoolsPerTenant()) {
      evictEldestOf(tenantId);
    }
    while (pools.size() > settings.maxPools()) {
      String largest =
          poolsPerTenant.entrySet().stream()
              .max(Map.Entry.comparingByValue())
              .orElseThrow()
              .getKey();
      evictEldestOf(largest);
    }
  }

  private void evictEldestOf(String tenantId) {
    Iterator<Map.Entry<Key, Pool>> it = pools.entrySet().iterator();
    while (it.hasNext()) {
      Pool p = it.next().getValue();
      if (p.key.tenantId().equals(tenantId)) {
        p.ready.forEach(d -> d.dek().wipe());
        p.ready.clear();
        it.remove();
        poolsPerTenant.computeIfPresent(tenantId, (t, n) -> n <= 1 ? null : n - 1);
        return;
      }
    }
  }

  /** Pools held now, all tenants together (for tests and metrics). */
  public synchronized int poolCount() {
    return pools.size();
  }

  /** Pools {@code tenantId} holds now. */
  public synchronized int poolCount(String tenantId) {
    return poolsPerTenant.getOrDefault(tenantId, 0);
  }
}
