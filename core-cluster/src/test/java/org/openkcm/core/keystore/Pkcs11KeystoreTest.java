package org.openkcm.core.keystore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.security.Key;
import java.security.KeyStore;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.core.keystore.L1KeystoreException.Kind;
import org.openkcm.protocol.key.KeyMaterial;

/** The PKCS#11 driver against a real SoftHSM2 token. */
class Pkcs11KeystoreTest {

  private static final Map<String, String> CTX =
      Map.of("openkcm:tenant", "acme", "openkcm:l2-version", "1");
  private static final ExecutorService blocking = Executors.newCachedThreadPool();
  private static SoftHsm hsm;
  private static Pkcs11Keystore driver;

  @BeforeAll
  static void start() throws Exception {
    hsm = SoftHsm.shared();
    driver = new Pkcs11Keystore(hsm.settings(), blocking);
  }

  @AfterAll
  static void stop() {
    blocking.shutdownNow();
  }

  @Test
  void roundTripInsideTheToken() throws Exception {
    hsm.createAesKey("rt-root");
    L1Reference ref = hsm.reference("rt-root");
    KeyMaterial l2 = KeyMaterial.random(32, new SecureRandom());
    join(driver.validate(ref, "c"));
    byte[] blob = join(driver.wrap(ref, l2, CTX, "c"));
    assertTrue(l2.sameKeyAs(join(driver.unwrap(ref, blob, CTX, "c"))));
    assertEquals(
        Kind.INVALID_CIPHERTEXT,
        kind(driver.unwrap(ref, blob, Map.of("openkcm:tenant", "evil"), "c")));
  }

  @Test
  void theL1NeverLeavesTheToken() throws Exception {
    hsm.createAesKey("sensitive-root");
    Provider p =
        Security.getProvider("SunPKCS11")
            .configure(
                "--name=probe\nlibrary="
                    + SoftHsm.LIBRARY
                    + "\nslot="
                    + hsm.settings().slot()
                    + "\n");
    KeyStore ks = KeyStore.getInstance("PKCS11", p);
    ks.load(null, SoftHsm.PIN.toCharArray());
    Key key = ks.getKey("sensitive-root", null);
    assertEquals("AES", key.getAlgorithm());
    assertNull(
        key.getEncoded(),
        "a sensitive, non-extractable token key has no encoding outside the token");
  }

  @Test
  void deletedKeyIsNotFoundAtOnce() throws Exception {
    hsm.createAesKey("doomed-root");
    L1Reference ref = hsm.reference("doomed-root");
    byte[] blob = join(driver.wrap(ref, KeyMaterial.random(32, new SecureRandom()), CTX, "c"));
    hsm.deleteKey("doomed-root");
    assertEquals(Kind.KEY_NOT_FOUND, kind(driver.unwrap(ref, blob, CTX, "c")));
    assertEquals(Kind.KEY_NOT_FOUND, kind(driver.validate(ref, "c")));
  }

  @Test
  void unknownKeyWrongTokenAndWrongKeyTypeAreNamed() throws Exception {
    assertEquals(Kind.KEY_NOT_FOUND, kind(driver.validate(hsm.reference("never-created"), "c")));
    assertEquals(
        Kind.UNSUPPORTED_REFERENCE,
        kind(driver.validate(new L1Reference("pkcs11", "token=other;object=x"), "c")));
    assertEquals(
        Kind.UNSUPPORTED_REFERENCE,
        kind(driver.validate(new L1Reference("pkcs11", "token=openkcm-test"), "c")));
    hsm.createHmacKey("hmac-key");
    L1KeystoreException e = failure(driver.validate(hsm.reference("hmac-key"), "c"));
    assertEquals(Kind.UNSUPPORTED_REFERENCE, e.kind(), e.getMessage());
  }

  private static <T> T join(CompletionStage<T> stage) {
    return stage.toCompletableFuture().join();
  }

  private static Kind kind(CompletionStage<?> stage) {
    return failure(stage).kind();
  }

  private static L1KeystoreException failure(CompletionStage<?> stage) {
    try {
      stage.toCompletableFuture().join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof L1KeystoreException k) {
        return k;
      }
      throw e;
    }
    throw new AssertionError("expected the call to fail");
  }
}
