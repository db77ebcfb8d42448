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
