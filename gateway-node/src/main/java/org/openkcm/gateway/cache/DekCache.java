package org.openkcm.gateway.cache;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import org.openkcm.protocol.envelope.EncryptionContext;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * Optional cache of unwrapped DEKs (off by default): bounded, short TTL, keyed by the hash of
 * tenant, envelope and encryption context; entries are wiped when they expire, are evicted, or when
 * their tenant is killed or revoked. Thread-safe.
 */
public final class DekCache {

  private record Entry(String tenantId, KeyMaterial dek, Instant expires) {}

  private final Duration ttl;
  private final int maxEntries;
  private final Clock clock;
  private final AtomicLong hits = new AtomicLong();
  private final AtomicLong misses = new AtomicLong();
  private final LinkedHashMap<String, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);

  public DekCache(Duration ttl, int maxEntries, Clock clock) {
    this.ttl = ttl;
    this.maxEntries = maxEntries;
    this.clock = clock;
  }

  /**
   * The cache key of an open: SHA-256 over the tenant, the envelope and the context's canonical
   * encoding, each length-prefixed, so a hit (which skips the Core's context check) needs exactly
   * the same three.
   */
  public static String key(String tenantId, byte[] envelope, EncryptionContext context) {
    try {
      MessageDigest d = MessageDigest.getInstance("SHA-256");
      for (byte[] part :
          new byte[][] {
            tenantId.getBytes(StandardCharsets.UTF_8), envelope, context.canonicalBytes()
          }) {
        d.update(java.nio.ByteBuffer.allocate(4).putInt(part.length).array());
        d.update(part);
      }
      return HexFormat.of().formatHex(d.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A copy of the cached DEK, if present and fresh. */
  public synchronized Optional<byte[]> get(String key) {
    Entry e = entries.get(key);
    if (e == null || clock.instant().isAfter(e.expires())) {
      if (e != null) {
        entries.remove(key).dek().wipe();
      }
      misses.incrementAndGet();
      return Optional.empty();
    }
    hits.incrementAndGet();
    return Optional.of(e.dek().revealBytes());
  }

  public synchronized void put(String key, String tenantId, byte[] dek) {
    Entry old =
        entries.put(key, new Entry(tenantId, KeyMaterial.copyOf(dek), clock.instant().plus(ttl)));
    if (old != null) {
      old.dek().wipe();
    }
    while (entries.size() > maxEntries) {
      Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator();
      it.next().getValue().dek().wipe();
      it.remove();
    }
  }

  /** Wipes every entry of {@code tenantId}, or all entries when it is {@code null}. */
  public synchronized void flush(String tenantId) {
    Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator();
    while (it.hasNext()) {
      Entry e = it.next().getValue();
      if (tenantId == null || e.tenantId().equals(tenantId)) {
        e.dek().wipe();
        it.remove();
      }
    }
  }

  public synchronized int size() {
    return entries.size();
  }

  public long hits() {
    return hits.get();
  }

  public long misses() {
    return misses.get();
  }
}
