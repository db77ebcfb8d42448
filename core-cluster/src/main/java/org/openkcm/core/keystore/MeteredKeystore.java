package org.openkcm.core.keystore;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.openkcm.node.metrics.NodeMetrics;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * Times every L1 call into {@code openkcm_l1_call_duration_seconds} by driver (the reference's
 * scheme when it is one of ours, else "other"), operation and outcome ("ok" or the typed {@link
 * L1KeystoreException.Kind}: KEY_DISABLED / ACCESS_DENIED / KEY_NOT_FOUND are the customer revoking
 * us). Nothing of the key, its reference or the context reaches a label.
 */
public final class MeteredKeystore implements L1Keystore {

  private static final Set<String> DRIVERS = Set.of("devfile", "aws-kms", "pkcs11");

  private final L1Keystore keystore;
  private final NodeMetrics metrics;

  public MeteredKeystore(L1Keystore keystore, NodeMetrics metrics) {
    this.keystore = keystore;
    this.metrics = metrics;
  }

  @Override
  public String scheme() {
    return keystore.scheme();
  }

  @Override
  public CompletionStage<Void> validate(L1Reference key, String correlationId) {
    return timed(key, "validate", keystore.validate(key, correlationId));
  }

  @Override
  public CompletionStage<byte[]> wrap(
      L1Reference key, KeyMaterial plaintext, Map<String, String> ctx, String correlationId) {
    long start = System.nanoTime();
    return observe(key, "wrap", start, keystore.wrap(key, plaintext, ctx, correlationId));
  }

  @Override
  public CompletionStage<KeyMaterial> unwrap(
      L1Reference key, byte[] wrapped, Map<String, String> ctx, String correlationId) {
    long start = System.nanoTime();
    return observe(key, "unwrap", start, keystore.unwrap(key, wrapped, ctx, correlationId));
  }

  private <T> CompletionStage<T> timed(L1Reference key, String op, CompletionStage<T> call) {
    return observe(key, op, System.nanoTime(), call);
  }

  private <T> CompletionStage<T> observe(
      L1Reference key, String op, long start, CompletionStage<T> call) {
    String driver = DRIVERS.contains(key.scheme()) ? key.scheme() : "other";
    return call.whenComplete(
        (v, e) ->
            metrics
                .l1Calls
                .labelValues(driver, op, outcome(e))
                .observe((System.nanoTime() - start) / 1e9));
  }

  private static String outcome(Throwable e) {
    if (e == null) {
      return "ok";
    }
    Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
    return cause instanceof L1KeystoreException k ? k.kind().name() : "error";
  }
}
