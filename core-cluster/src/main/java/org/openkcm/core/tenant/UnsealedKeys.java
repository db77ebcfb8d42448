package org.openkcm.core.tenant;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.openkcm.protocol.envelope.EnvelopeCipher;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * A tenant's unsealed keys: its L2 and one envelope cipher per (service, L3 version). Lives only in
 * the tenant entity's memory, never in its persisted state; {@link #wipe()} on kill, passivation
 * and stop. Not thread-safe: owned by one actor.
 */
final class UnsealedKeys {

  private final KeyMaterial l2;
  private final long l2Version;
  private final Map<String, Map<Long, EnvelopeCipher>> ciphers = new HashMap<>();
  private final Map<String, Map<Long, Long>> wraps = new HashMap<>();

  UnsealedKeys(KeyMaterial l2, long l2Version) {
    this.l2 = l2;
    this.l2Version = l2Version;
  }

  KeyMaterial l2() {
    return l2;
  }

  long l2Version() {
    return l2Version;
  }

  void install(EnvelopeCipher cipher) {
    ciphers
        .computeIfAbsent(cipher.header().serviceId(), s -> new HashMap<>())
        .put(cipher.header().l3Version(), cipher);
  }

  Optional<EnvelopeCipher> cipher(String serviceId, long l3Version) {
    return Optional.ofNullable(ciphers.getOrDefault(serviceId, Map.of()).get(l3Version));
  }

  /** Destroys the cipher of {@code serviceId} version {@code l3Version} (retired). */
  void destroy(String serviceId, long l3Version) {
    Map<Long, EnvelopeCipher> byVersion = ciphers.get(serviceId);
    if (byVersion != null) {
      EnvelopeCipher c = byVersion.remove(l3Version);
      if (c != null) {
        c.destroy();
      }
    }
  }

  /** Wraps counted for {@code serviceId} version {@code l3Version} (the nonce budget used). */
  long wraps(String serviceId, long l3Version) {
    return wraps.getOrDefault(serviceId, Map.of()).getOrDefault(l3Version, 0L);
  }

  /** Counts {@code n} more wraps; after an unseal counting starts at what was reserved. */
  void countWraps(String serviceId, long l3Version, long n) {
    wraps.computeIfAbsent(serviceId, s -> new HashMap<>()).merge(l3Version, n, Long::sum);
  }

  void wipe() {
    l2.wipe();
    ciphers.values().forEach(byVersion -> byVersion.values().forEach(EnvelopeCipher::destroy));
    ciphers.clear();
  }

  @Override
  public String toString() {
    return "UnsealedKeys[redacted, L2v" + l2Version + ", services=" + ciphers.keySet() + "]";
  }
}
