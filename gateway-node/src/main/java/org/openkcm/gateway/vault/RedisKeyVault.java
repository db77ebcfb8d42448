package org.openkcm.gateway.vault;

import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Vault on Redis (Lettuce, asynchronous). Per key a hash {@code <prefix>:<tenant>:k:<id>} (service,
 * envelope in base64, context as {@code c:<name>} fields, subject, created); a tombstone {@code
 * <prefix>:<tenant>:d:<id>} once destroyed; a set per subject. Only envelopes are stored.
 *
 * <p>A destroy is one server-side script (tombstone, delete, subject set: all or nothing, where
 * three commands could leave a key half destroyed), then, with {@code waitReplicas}, {@code WAIT}s
 * until that many replicas acknowledged it: a failover right after a destroy must not bring the
 * envelope back. Standalone Redis or one primary with replicas (the script touches the subject
 * set's key, which it does not declare: not for Redis Cluster).
 */
public final class RedisKeyVault implements KeyVault {

  private final RedisClient client;
  private final StatefulRedisConnection<String, String> connection;
  private final RedisAsyncCommands<String, String> redis;
  private final String prefix;
  private final Clock clock;
  private final int waitReplicas;
  private final java.time.Duration waitTimeout;

  /**
   * Destroys and their WAIT on a connection of their own: WAIT holds the connection it is sent on
   * (it waits for that client's writes), and every other tenant's vault traffic must not queue
   * behind a lagging replica.
   */
  private final StatefulRedisConnection<String, String> destroyConnection;

  private final RedisAsyncCommands<String, String> destroys;

  /** The destroy script: KEYS = key, tombstone; ARGV = destroyed at, subject-set prefix, id. */
  private static final String DESTROY =
      "local sub = redis.call('HGET', KEYS[1], 'sub')\n"
          + "if not sub then return 0 end\n"
          + "redis.call('SET', KEYS[2], ARGV[1])\n"
          + "redis.call('DEL', KEYS[1])\n"
          + "if sub ~= '' then redis.call('SREM', ARGV[2] .. sub, ARGV[3]) end\n"
          + "return 1";

  public RedisKeyVault(String uri, String prefix, Clock clock) {
    this(uri, prefix, clock, 0, java.time.Duration.ofSeconds(1));
  }

  /**
   * {@code waitReplicas}: replicas that must acknowledge a destroy within {@code waitTimeout} (0:
   * none, a standalone Redis).
   */
  public RedisKeyVault(
      String uri, String prefix, Clock clock, int waitReplicas, java.time.Duration waitTimeout) {
    if (waitReplicas < 0) {
      throw new IllegalArgumentException("redis.wait-replicas must be 0 or more");
    }
    this.client = RedisClient.create(uri);
    this.connection = client.connect();
    this.redis = connection.async();
    this.prefix = prefix;
    this.clock = clock;
    this.waitReplicas = waitReplicas;
    this.waitTimeout = waitTimeout;
    this.destroyConnection = client.connect();
    this.destroys = destroyConnection.async();
  }

  @Override
  public String kind() {
    return "redis";
  }

  private String key(String tenantId, String id) {
    return prefix + ":" + tenantId + ":k:" + id;
  }

  private String tomb(String tenantId, String id) {
    return prefix + ":" + tenantId + ":d:" + id;
  }

  private String subject(String tenantId, String subject) {
    return prefix + ":" + tenantId + ":s:" + subject;
  }

  @Override
  public CompletionStage<Void> store(String tenantId, StoredKey k) {
    Map<String, String> fields = new HashMap<>();
    fields.put("svc", k.serviceId());
    fields.put("env", Base64.getEncoder().encodeToString(k.envelope()));
    fields.put("sub", k.subject());
    fields.put("created", k.created().toString());
    k.context().forEach((name, value) -> fields.put("c:" + name, value));
    CompletionStage<?> stored = redis.hset(key(tenantId, k.keyId()), fields);
    if (!k.subject().isEmpty()) {
      stored = stored.thenCompose(v -> redis.sadd(subject(tenantId, k.subject()), k.keyId()));
    }
    return stored.thenApply(v -> null);
  }

  @Override
  public CompletionStage<Lookup> lookup(String tenantId, String keyId) {
    return redis
        .hgetall(key(tenantId, keyId))
        .thenCompose(
            h -> {
              if (h != null && !h.isEmpty()) {
                Map<String, String> ctx = new HashMap<>();
                h.forEach(
                    (f, v) -> {
                      if (f.startsWith("c:")) {
                        ctx.put(f.substring(2), v);
                      }
                    });
                return CompletableFuture.completedFuture(
                    new Found(
                        new StoredKey(
                            keyId,
                            h.get("svc"),
                            Base64.getDecoder().decode(h.get("env")),
                            ctx,
                            h.getOrDefault("sub", ""),
                            Instant.parse(h.get("created")))));
              }
              return redis
                  .get(tomb(tenantId, keyId))
                  .thenApply(t -> t == null ? new Absent() : new Destroyed(Instant.parse(t)));
            });
  }

  @Override
  public CompletionStage<Boolean> destroy(String tenantId, String keyId) {
    CompletionStage<Long> destroyed =
        destroys.eval(
            DESTROY,
            io.lettuce.core.ScriptOutputType.INTEGER,
            new String[] {key(tenantId, keyId), tomb(tenantId, keyId)},
            clock.instant().toString(),
            prefix + ":" + tenantId + ":s:",
            keyId);
    return destroyed.thenCompose(
        n -> {
          if (n == null || n == 0) {
            return CompletableFuture.completedFuture(false);
          }
          if (waitReplicas == 0) {
            return CompletableFuture.completedFuture(true);
          }
          return destroys
              .waitForReplication(waitReplicas, waitTimeout.toMillis())
              .thenApply(
                  acked -> {
                    if (acked < waitReplicas) {
                      throw new IllegalStateException(
                          "key "
                              + keyId
                              + " destroyed on the Redis primary, but only "
                              + acked
                              + " of "
                              + waitReplicas
                              + " replicas acknowledged it within "
                              + waitTimeout
                              + " (openkcm.gateway.vault.redis.wait-replicas)");
                    }
                    return true;
                  });
        });
  }

  @Override
  public CompletionStage<Integer> destroyBySubject(
      String tenantId, String serviceId, String subject) {
    return redis
        .smembers(subject(tenantId, subject))
        .thenCompose(
            ids -> {
              CompletableFuture<Integer> all = CompletableFuture.completedFuture(0);
              for (String id : ids) {
                all =
                    all.thenCompose(
                        n ->
                            lookup(tenantId, id)
                                .thenCompose(
                                    found ->
                                        found instanceof Found f
                                                && f.key().serviceId().equals(serviceId)
                                            ? destroy(tenantId, id)
                                                .thenApply(done -> done ? n + 1 : n)
                                            : CompletableFuture.completedFuture(n)));
              }
              return all;
            });
  }

  @Override
  public CompletionStage<Void> dropTenant(String tenantId) {
    List<String> keys = new ArrayList<>();
    ScanCursor cursor = ScanCursor.INITIAL;
    try {
      do {
        var page =
            redis
                .scan(cursor, ScanArgs.Builder.matches(prefix + ":" + tenantId + ":*").limit(500))
                .toCompletableFuture()
                .get();
        keys.addAll(page.getKeys());
        cursor = page;
      } while (!cursor.isFinished());
    } catch (Exception e) {
      return CompletableFuture.failedFuture(e);
    }
    return keys.isEmpty()
        ? CompletableFuture.completedFuture(null)
        : redis.del(keys.toArray(String[]::new)).thenApply(n -> null);
  }

  @Override
  public void close() {
    destroyConnection.close();
    connection.close();
    client.shutdown();
  }
}
