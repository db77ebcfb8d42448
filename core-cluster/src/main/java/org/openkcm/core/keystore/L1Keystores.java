package org.openkcm.core.keystore;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.openkcm.protocol.key.KeyMaterial;

/** Routes each call to the driver of the reference's scheme. */
public final class L1Keystores implements L1Keystore {

  private final Map<String, L1Keystore> byScheme = new LinkedHashMap<>();

  public L1Keystores(List<L1Keystore> drivers) {
    for (L1Keystore d : drivers) {
      if (byScheme.putIfAbsent(d.scheme(), d) != null) {
        throw new IllegalArgumentException("two L1 keystore drivers for scheme " + d.scheme());
      }
    }
  }

  @Override
  public String scheme() {
    return "*";
  }

  public boolean supports(L1Reference ref) {
    return byScheme.containsKey(ref.scheme());
  }

  @Override
  public CompletionStage<Void> validate(L1Reference key, String cid) {
    L1Keystore d = byScheme.get(key.scheme());
    return d == null ? unsupported(key) : d.validate(key, cid);
  }

  @Override
  public CompletionStage<byte[]> wrap(
      L1Reference key, KeyMaterial plaintext, Map<String, String> ctx, String cid) {
    L1Keystore d = byScheme.get(key.scheme());
    return d == null ? unsupported(key) : d.wrap(key, plaintext, ctx, cid);
  }

  @Override
  public CompletionStage<KeyMaterial> unwrap(
      L1Reference key, byte[] wrapped, Map<String, String> ctx, String cid) {
    L1Keystore d = byScheme.get(key.scheme());
    return d == null ? unsupported(key) : d.unwrap(key, wrapped, ctx, cid);
  }

  private <T> CompletionStage<T> unsupported(L1Reference key) {
    return CompletableFuture.failedFuture(
        new L1KeystoreException(
            L1KeystoreException.Kind.UNSUPPORTED_REFERENCE,
            "no L1 keystore driver for scheme '"
                + key.scheme()
                + "' on this node; configured: "
                + byScheme.keySet()));
  }
}
