package org.openkcm.gateway.vault;

import java.time.Instant;
import java.util.Map;
import java.util.concurrent.CompletionStage;

/**
 * Where the gateway keeps wrapped DEKs by id for applications that would rather hold an id than an
 * envelope. Only envelopes (DEKs wrapped by L3) are ever stored. Destroying a key deletes its
 * envelope and leaves a tombstone, so the id answers "destroyed" forever (crypto-shredding).
 */
public interface KeyVault extends AutoCloseable {

  /** One stored key: its envelope, the context it was wrapped with, and an optional subject tag. */
  record StoredKey(
      String keyId,
      String serviceId,
      byte[] envelope,
      Map<String, String> context,
      String subject,
      Instant created) {}

  /** What an id answers. */
  sealed interface Lookup permits Found, Destroyed, Absent {}

  record Found(StoredKey key) implements Lookup {}

  record Destroyed(Instant at) implements Lookup {}

  record Absent() implements Lookup {}

  /** memory, redis or postgres. */
  String kind();

  CompletionStage<Void> store(String tenantId, StoredKey key);

  CompletionStage<Lookup> lookup(String tenantId, String keyId);

  /** Deletes the envelope and leaves a tombstone; answers whether a live key was destroyed. */
  CompletionStage<Boolean> destroy(String tenantId, String keyId);

  /**
   * Destroys every live key of {@code serviceId} tagged with {@code subject} ("right to be
   * forgotten"); answers how many. Keys of the tenant's other services are left alone.
   */
  CompletionStage<Integer> destroyBySubject(String tenantId, String serviceId, String subject);

  /** Offboarding: removes everything of the tenant. */
  CompletionStage<Void> dropTenant(String tenantId);

  @Override
  void close();
}
