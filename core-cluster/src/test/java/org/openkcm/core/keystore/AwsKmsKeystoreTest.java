package org.openkcm.core.keystore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ServerSocket;
import java.net.URI;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.core.keystore.L1KeystoreException.Kind;
import org.openkcm.protocol.key.KeyMaterial;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;

/** The AWS KMS driver through the real SDK client against a KMS-protocol endpoint on 127.0.0.1. */
class AwsKmsKeystoreTest {

  private static final Map<String, String> CTX =
      Map.of("openkcm:tenant", "acme", "openkcm:l2-version", "1", "openkcm:correlation-id", "c-1");
  private static FakeKms kms;
  private static AwsKmsKeystore driver;
  private static final ExecutorService blocking = Executors.newCachedThreadPool();

  static AwsKmsKeystore.Settings settings(URI endpoint) {
    return new AwsKmsKeystore.Settings(
        Optional.of(endpoint),
        Duration.ofSeconds(5),
        Duration.ofSeconds(2),
        Optional.of(AwsBasicCredentials.create("test-access-key", "test-secret-key")));
  }

  @BeforeAll
  static void start() throws Exception {
    kms = new FakeKms();
    driver = new AwsKmsKeystore(settings(kms.endpoint()), blocking);
  }

  @AfterAll
  static void stop() {
    driver.close();
    kms.close();
    blocking.shutdownNow();
  }

  @Test
  void roundTripWithTheEncryptionContext() {
    L1Reference ref = ref(kms.createKey());
    KeyMaterial l2 = KeyMaterial.random(32, new SecureRandom());
    join(driver.validate(ref, "c"));
    byte[] blob = join(driver.wrap(ref, l2, CTX, "c"));
    assertTrue(l2.sameKeyAs(join(driver.unwrap(ref, blob, CTX, "c2"))));
  }

  @Test
  void everyCallIsAuditedWithTheTenantAndTheRequestIdAwsReturned() throws Exception {
    L1Reference ref = ref(kms.createKey());
    java.util.List<String> records = new java.util.concurrent.CopyOnWriteArrayList<>();
    try (AutoCloseable sink =
        org.openkcm.node.audit.AuditLog.addSink(
            (tenant, event, json) -> records.add(tenant + " " + json))) {
      join(driver.wrap(ref, KeyMaterial.random(32, new SecureRandom()), CTX, "c-audit"));
    }
    String id = FakeKms.LAST_REQUEST_ID.get();
    assertTrue(
        records.stream()
            .anyMatch(
                r ->
                    r.contains("\"event\":\"l1.Encrypt\"")
                        && r.contains("\"awsRequestId\":\"" + id + "\"")
                        && r.contains("\"cid\":\"c-audit\"")
                        && r.startsWith(CTX.get("openkcm:tenant") + " ")),
        "the record names the tenant, our correlation id and AWS's request id "
            + id
            + ": "
            + records);
  }

  @Test
  void otherEncryptionContextIsInvalidCiphertext() {
    L1Reference ref = ref(kms.createKey());
    byte[] blob = join(driver.wrap(ref, KeyMaterial.random(32, new SecureRandom()), CTX, "c"));
    assertEquals(
        Kind.INVALID_CIPHERTEXT,
        kind(driver.unwrap(ref, blob, Map.of("openkcm:tenant", "globex"), "c")));
  }

  @Test
  void blobOfAnotherKeyIsInvalidCiphertext() {
    L1Reference a = ref(kms.createKey());
    L1Reference b = ref(kms.createKey());
    byte[] blob = join(driver.wrap(a, KeyMaterial.random(32, new SecureRandom()), CTX, "c"));
    assertEquals(Kind.INVALID_CIPHERTEXT, kind(driver.unwrap(b, blob, CTX, "c")));
  }

  @Test
  void disabledKeyIsDisabledUntilEnabledAgain() {
    String arn = kms.createKey();
    L1Reference ref = ref(arn);
    byte[] blob = join(driver.wrap(ref, KeyMaterial.random(32, new SecureRandom()), CTX, "c"));
    kms.disable(arn);
    assertEquals(Kind.KEY_DISABLED, kind(driver.unwrap(ref, blob, CTX, "c")));
    assertEquals(Kind.KEY_DISABLED, kind(driver.validate(ref, "c")));
    kms.enable(arn);
    join(driver.unwrap(ref, blob, CTX, "c"));
  }

  @Test
  void keyPendingDeletionIsDisabled() {
    String arn = kms.createKey();
    byte[] blob = join(driver.wrap(ref(arn), KeyMaterial.random(32, new SecureRandom()), CTX, "c"));
    kms.scheduleDeletion(arn);
    assertEquals(Kind.KEY_DISABLED, kind(driver.unwrap(ref(arn), blob, CTX, "c")));
  }

  @Test
  void unknownKeyIsNotFound() {
    L1Reference ref =
        ref("arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000000");
    assertEquals(Kind.KEY_NOT_FOUND, kind(driver.validate(ref, "c")));
    assertEquals(
        Kind.KEY_NOT_FOUND,
        kind(driver.wrap(ref, KeyMaterial.random(32, new SecureRandom()), CTX, "c")));
  }

  @Test
  void deniedKeyIsAccessDenied() {
    String arn = kms.createKey();
    kms.deny(arn);
    assertEquals(
        Kind.ACCESS_DENIED,
        kind(driver.wrap(ref(arn), KeyMaterial.random(32, new SecureRandom()), CTX, "c")));
  }

  @Test
  void asymmetricKeyIsRejectedAsWrongType() {
    String arn = kms.createKey("RSA_2048", "SIGN_VERIFY");
    L1KeystoreException e = failure(driver.validate(ref(arn), "c"));
    assertEquals(Kind.UNSUPPORTED_REFERENCE, e.kind());
    assertTrue(e.getMessage().contains("SYMMETRIC_DEFAULT"), e.getMessage());
  }

  @Test
  void referenceThatIsNotAnArnIsUnsupported() {
    assertEquals(Kind.UNSUPPORTED_REFERENCE, kind(driver.validate(ref("my-key"), "c")));
  }

  @Test
  void unreachableEndpointIsUnavailable() throws Exception {
    int closedPort;
    try (ServerSocket s = new ServerSocket(0)) {
      closedPort = s.getLocalPort();
    }
    AwsKmsKeystore nowhere =
        new AwsKmsKeystore(settings(URI.create("http://127.0.0.1:" + closedPort)), blocking);
    try {
      assertEquals(Kind.UNAVAILABLE, kind(nowhere.validate(ref(kms.createKey()), "c")));
    } finally {
      nowhere.close();
    }
  }

  static L1Reference ref(String arn) {
    return new L1Reference(AwsKmsKeystore.SCHEME, arn);
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
      return (L1KeystoreException) e.getCause();
    }
    throw new AssertionError("expected the call to fail");
  }
}
