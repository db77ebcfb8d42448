package org.openkcm.core.keystore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openkcm.protocol.key.KeyMaterial;

class DevFileKeystoreTest {

  @TempDir Path dir;
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private static final Map<String, String> CTX =
      Map.of("openkcm:tenant", "acme", "openkcm:l2-version", "1");

  @AfterEach
  void shutdown() {
    executor.shutdownNow();
  }

  @Test
  void roundTripWithTheSameContext() {
    DevFileKeystore ks = new DevFileKeystore(dir, true, executor);
    KeyMaterial l2 = KeyMaterial.random(32, new SecureRandom());
    L1Reference ref = L1Reference.parse("devfile:acme-root");
    byte[] blob = ks.wrap(ref, l2, CTX, "c1").toCompletableFuture().join();
    assertTrue(l2.sameKeyAs(ks.unwrap(ref, blob, CTX, "c2").toCompletableFuture().join()));
  }

  @Test
  void otherContextIsInvalidCiphertext() {
    DevFileKeystore ks = new DevFileKeystore(dir, true, executor);
    L1Reference ref = L1Reference.parse("devfile:acme-root");
    byte[] blob =
        ks.wrap(ref, KeyMaterial.random(32, new SecureRandom()), CTX, "c1")
            .toCompletableFuture()
            .join();
    assertEquals(
        L1KeystoreException.Kind.INVALID_CIPHERTEXT,
        failure(
            () ->
                ks.unwrap(ref, blob, Map.of("openkcm:tenant", "evil"), "c2")
                    .toCompletableFuture()
                    .join()));
  }

  @Test
  void missingKeyIsNotFoundWhenAutoCreateIsOff() {
    DevFileKeystore ks = new DevFileKeystore(dir, false, executor);
    assertEquals(
        L1KeystoreException.Kind.KEY_NOT_FOUND,
        failure(
            () ->
                ks.wrap(
                        L1Reference.parse("devfile:nope"),
                        KeyMaterial.random(32, new SecureRandom()),
                        CTX,
                        "c")
                    .toCompletableFuture()
                    .join()));
  }

  @Test
  void disabledKeyRefusesUntilReEnabled() {
    DevFileKeystore ks = new DevFileKeystore(dir, true, executor);
    L1Reference ref = L1Reference.parse("devfile:k");
    byte[] blob =
        ks.wrap(ref, KeyMaterial.random(32, new SecureRandom()), CTX, "c")
            .toCompletableFuture()
            .join();
    ks.setEnabled("k", false);
    assertEquals(
        L1KeystoreException.Kind.KEY_DISABLED,
        failure(() -> ks.unwrap(ref, blob, CTX, "c").toCompletableFuture().join()));
    ks.setEnabled("k", true);
    ks.unwrap(ref, blob, CTX, "c").toCompletableFuture().join();
  }

  @Test
  void keyFileIsOwnerOnlyAndSaysItIsForDevelopment() throws Exception {
    DevFileKeystore ks = new DevFileKeystore(dir, true, executor);
    ks.createKey("k1");
    Path file = dir.resolve(DevFileKeystore.FILE_NAME);
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
    assertTrue(Files.readString(file).contains("NOT FOR PRODUCTION"));
    assertFalse(ks.exists("k2"));
  }

  private static L1KeystoreException.Kind failure(Runnable r) {
    try {
      r.run();
    } catch (CompletionException e) {
      return ((L1KeystoreException) e.getCause()).kind();
    }
    throw new AssertionError("expected the keystore call to fail");
  }
}
