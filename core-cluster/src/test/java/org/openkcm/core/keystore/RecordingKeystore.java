package org.openkcm.core.keystore;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * Test decorator of a real keystore: remembers the last key it was asked to wrap (so a test can
 * search persisted bytes for it), counts calls, and can hold unwraps until the test opens a gate.
 */
public final class RecordingKeystore implements L1Keystore {

  private final L1Keystore delegate;
  private final AtomicReference<KeyMaterial> lastWrapped = new AtomicReference<>();
  private final AtomicInteger unwrapCalls = new AtomicInteger();
  private volatile CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);
  private volatile L1KeystoreException unwrapFailure;

  public RecordingKeystore(L1Keystore delegate) {
    this.delegate = delegate;
  }

  @Override
  public String scheme() {
    return delegate.scheme();
  }

  @Override
  public CompletionStage<byte[]> wrap(
      L1Reference key, KeyMaterial plaintext, Map<String, String> ctx, String cid) {
    lastWrapped.set(KeyMaterial.copyOf(plaintext.revealBytes()));
    return delegate.wrap(key, plaintext, ctx, cid);
  }

  @Override
  public CompletionStage<KeyMaterial> unwrap(
      L1Reference key, byte[] wrapped, Map<String, String> ctx, String cid) {
    unwrapCalls.incrementAndGet();
    L1KeystoreException failure = unwrapFailure;
    if (failure != null) {
      return CompletableFuture.failedFuture(failure);
    }
    return gate.thenCompose(v -> delegate.unwrap(key, wrapped, ctx, cid));
  }

  /** From now on every unwrap fails with {@code failure} (e.g. an outage); {@code null} heals. */
  public void failUnwraps(L1KeystoreException failure) {
    unwrapFailure = failure;
  }

  /** The last key given to {@link #wrap} (the tenant's L2). */
  public KeyMaterial lastWrapped() {
    return lastWrapped.get();
  }

  public int unwrapCalls() {
    return unwrapCalls.get();
  }

  /** From now on, unwraps wait until the returned future is completed. */
  public CompletableFuture<Void> closeGate() {
    CompletableFuture<Void> g = new CompletableFuture<>();
    gate = g;
    return g;
  }
}
