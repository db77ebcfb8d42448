package org.openkcm.gateway.cache;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.openkcm.protocol.envelope.EncryptionContext;

/**
 * A cache hit skips the Core's context check, so its key must tell every tenant, envelope and
 * context apart.
 */
class DekCacheTest {

  private static final byte[] ENVELOPE = {1, 2, 3, 4, 5, 6, 7, 8};

  @Test
  void contextsThatOnlyLookAlikeAsTextAreDifferentKeys() throws Exception {
    String a = DekCache.key("acme", ENVELOPE, EncryptionContext.of(Map.of("a", "b=c")));
    String b = DekCache.key("acme", ENVELOPE, EncryptionContext.of(Map.of("a=b", "c")));
    assertNotEquals(a, b);
    assertNotEquals(
        DekCache.key("acme", ENVELOPE, EncryptionContext.of(Map.of("k", "v", "x", "y"))),
        DekCache.key("acme", ENVELOPE, EncryptionContext.of(Map.of("k", "v\u0000x=y"))));
    // tenant and envelope boundaries cannot shift either
    assertNotEquals(
        DekCache.key("acme", new byte[] {1, 2}, EncryptionContext.empty()),
        DekCache.key("acme\u0001", new byte[] {2}, EncryptionContext.empty()));
  }

  @Test
  void aDekCachedUnderOneContextIsNotAHitForAnother() throws Exception {
    DekCache cache = new DekCache(Duration.ofMinutes(1), 10, Clock.systemUTC());
    String under = DekCache.key("acme", ENVELOPE, EncryptionContext.of(Map.of("a", "b=c")));
    cache.put(under, "acme", new byte[32]);
    assertArrayEquals(new byte[32], cache.get(under).orElseThrow());
    assertTrue(
        cache
            .get(DekCache.key("acme", ENVELOPE, EncryptionContext.of(Map.of("a=b", "c"))))
            .isEmpty());
  }
}
