package org.openkcm.gateway.vault;

import java.time.Clock;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;

/** The demo's vault: in this gateway's memory only (lost on restart). */
public final class InMemoryKeyVault implements KeyVault {

  private final Map<String, Map<String, Lookup>> tenants = new ConcurrentHashMap<>();
  private final Clock clock;

  public InMemoryKeyVault(Clock clock) {
    this.clock = clock;
  }

  @Override
  public String kind() {
    return "memory";
  }

  private Map<String, Lookup> of(String tenantId) {
    return tenants.computeIfAbsent(tenantId, t -> new ConcurrentHashMap<>());
  }

  @Override
  public CompletionStage<Void> store(String tenantId, StoredKey key) {
    of(tenantId).put(key.keyId(), new Found(key));
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public CompletionStage<Lookup> lookup(String tenantId, String keyId) {
    return CompletableFuture.completedFuture(of(tenantId).getOrDefault(keyId, new Absent()));
  }

  @Override
  public synchronized CompletionStage<Boolean> destroy(String tenantId, String keyId) {
    Lookup now = of(tenantId).get(keyId);
    if (now instanceof Found) {
      of(tenantId).put(keyId, new Destroyed(clock.instant()));
      return CompletableFuture.completedFuture(true);
    }
    return CompletableFuture.completedFuture(false);
  }

  @Override
  public synchronized CompletionStage<Integer> destroyBySubject(
      String tenantId, String serviceId, String subject) {
    int n = 0;
    for (Map.Entry<String, Lookup> e : of(tenantId).entrySet()) {
      if (e.getValue() instanceof Found f
          && subject.equals(f.key().subject())
          && serviceId.equals(f.key().serviceId())) {
        e.setValue(new Destroyed(clock.instant()));
        n++;
      }
    }
    return CompletableFuture.completedFuture(n);
  }

  @Override
  public CompletionStage<Void> dropTenant(String tenantId) {
    tenants.remove(tenantId);
    return CompletableFuture.completedFuture(null);
  }

  @Override
  public void close() {
    tenants.clear();
  }
}
