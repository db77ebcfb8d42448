package org.openkcm.core.keystore;

import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * A driver for customers' root keys (L1). Implementations talk to the customer's KMS/HSM; the L1
 * never leaves it. Every call is asynchronous (a remote KMS can take tens of milliseconds; blocking
 * drivers run on their own dispatcher) and carries:
 *
 * <ul>
 *   <li>an <b>encryption context</b> that the keystore binds to the wrapped blob (tenant, L2
 *       version, correlation id of the onboarding); the same map must be presented to unwrap it,
 *       and it shows up in the customer's keystore audit log;
 *   <li>the <b>correlation id</b> of the current request, for our own audit line.
 * </ul>
 *
 * Failures complete the stage exceptionally with an {@link L1KeystoreException}.
 */
public interface L1Keystore {

  /**
   * The reference scheme this driver serves, e.g. {@code devfile}, {@code aws-kms}, {@code pkcs11}.
   */
  String scheme();

  /**
   * Checks that the key can serve as an L1 before it is linked: it exists, is enabled and of the
   * right type. Onboarding follows with a wrap/unwrap round trip. The default accepts every
   * reference.
   */
  default CompletionStage<Void> validate(L1Reference key, String correlationId) {
    return java.util.concurrent.CompletableFuture.completedFuture(null);
  }

  CompletionStage<byte[]> wrap(
      L1Reference key,
      KeyMaterial plaintext,
      Map<String, String> encryptionContext,
      String correlationId);

  CompletionStage<KeyMaterial> unwrap(
      L1Reference key, byte[] wrapped, Map<String, String> encryptionContext, String correlationId);
}
