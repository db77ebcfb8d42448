package org.openkcm.gateway.vault;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.SecureRandom;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The one contract every vault backend must keep; each backend's test runs it against the real
 * store.
 */
abstract class KeyVaultContract {

  protected KeyVault vault;
  protected String tenant;
  protected String otherTenant;

  protected abstract KeyVault newVault() throws Exception;

  @BeforeEach
  void open() throws Exception {
    byte[] r = new byte[4];
    new SecureRandom().nextBytes(r);
    tenant = "vt-" + HexFormat.of().formatHex(r);
    otherTenant = tenant + "-other";
    vault = newVault();
  }

  @AfterEach
  void cleanUp() {
    join(vault.dropTenant(tenant));
    join(vault.dropTenant(otherTenant));
    vault.close();
  }

  private static KeyVault.StoredKey key(String id, String subject) {
    return key(id, "payments", subject);
  }

  private static KeyVault.StoredKey key(String id, String service, String subject) {
    byte[] env = new byte[80];
    new SecureRandom().nextBytes(env);
    return new KeyVault.StoredKey(
        id,
        service,
        env,
        Map.of("table", "orders", "row", "7"),
        subject,
        Instant.now().truncatedTo(ChronoUnit.MILLIS));
  }

  @Test
  void storedKeysComeBackExactly() {
    KeyVault.StoredKey k = key("k1", "user-1");
    join(vault.store(tenant, k));
    KeyVault.Found found = assertInstanceOf(KeyVault.Found.class, join(vault.lookup(tenant, "k1")));
    assertArrayEquals(k.envelope(), found.key().envelope());
    assertEquals(k.context(), found.key().context());
    assertEquals("payments", found.key().serviceId());
    assertEquals("user-1", found.key().subject());
    assertEquals(k.created(), found.key().created());
  }

  @Test
  void unknownIdsAreAbsentAndTenantsAreSeparate() {
    join(vault.store(tenant, key("k1", "")));
    assertInstanceOf(KeyVault.Absent.class, join(vault.lookup(tenant, "nope")));
    assertInstanceOf(KeyVault.Absent.class, join(vault.lookup(otherTenant, "k1")));
    assertFalse(join(vault.destroy(otherTenant, "k1")));
    assertInstanceOf(KeyVault.Found.class, join(vault.lookup(tenant, "k1")));
  }

  @Test
  void destroyedKeysStayDestroyedForever() {
    join(vault.store(tenant, key("k1", "")));
    assertTrue(join(vault.destroy(tenant, "k1")));
    assertInstanceOf(KeyVault.Destroyed.class, join(vault.lookup(tenant, "k1")));
    assertFalse(join(vault.destroy(tenant, "k1")), "destroying twice destroys nothing more");
    assertInstanceOf(KeyVault.Destroyed.class, join(vault.lookup(tenant, "k1")));
  }

  @Test
  void destroyBySubjectShredsExactlyThatSubjectsKeys() {
    join(vault.store(tenant, key("a1", "alice")));
    join(vault.store(tenant, key("a2", "alice")));
    join(vault.store(tenant, key("b1", "bob")));
    join(vault.store(otherTenant, key("a3", "alice")));
    join(vault.store(tenant, key("a4", "billing", "alice")));
    assertEquals(2, join(vault.destroyBySubject(tenant, "payments", "alice")));
    assertInstanceOf(KeyVault.Destroyed.class, join(vault.lookup(tenant, "a1")));
    assertInstanceOf(KeyVault.Destroyed.class, join(vault.lookup(tenant, "a2")));
    assertInstanceOf(KeyVault.Found.class, join(vault.lookup(tenant, "b1")));
    assertInstanceOf(
        KeyVault.Found.class, join(vault.lookup(otherTenant, "a3")), "other tenant untouched");
    assertInstanceOf(
        KeyVault.Found.class,
        join(vault.lookup(tenant, "a4")),
        "the tenant's other service untouched");
    assertEquals(0, join(vault.destroyBySubject(tenant, "payments", "alice")));
    assertEquals(1, join(vault.destroyBySubject(tenant, "billing", "alice")));
  }

  @Test
  void droppingATenantRemovesAllOfIt() {
    join(vault.store(tenant, key("k1", "s")));
    join(vault.store(otherTenant, key("k1", "s")));
    join(vault.dropTenant(tenant));
    assertInstanceOf(KeyVault.Absent.class, join(vault.lookup(tenant, "k1")));
    assertInstanceOf(KeyVault.Found.class, join(vault.lookup(otherTenant, "k1")));
  }

  static <T> T join(CompletionStage<T> stage) {
    return stage.toCompletableFuture().join();
  }
}
