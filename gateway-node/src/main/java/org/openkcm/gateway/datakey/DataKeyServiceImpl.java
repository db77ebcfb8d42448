package org.openkcm.gateway.datakey;

import com.google.protobuf.ByteString;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.openkcm.gateway.batch.UnwrapBatcher;
import org.openkcm.gateway.cache.DekCache;
import org.openkcm.gateway.corelink.CoreLink;
import org.openkcm.gateway.pool.DekPool;
import org.openkcm.gateway.tenantwatch.TenantStates;
import org.openkcm.gateway.vault.KeyVault;
import org.openkcm.protocol.core.v1.UnwrapItem;
import org.openkcm.protocol.core.v1.UnwrapResult;
import org.openkcm.protocol.envelope.EncryptionContext;
import org.openkcm.protocol.envelope.Envelope;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.envelope.EnvelopeException;
import org.openkcm.protocol.envelope.Identifiers;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.Fields;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.CreateKeyRequest;
import org.openkcm.protocol.gateway.v1.CreateKeyResponse;
import org.openkcm.protocol.gateway.v1.DataKey;
import org.openkcm.protocol.gateway.v1.DataKeyService;
import org.openkcm.protocol.gateway.v1.DecryptBatchRequest;
import org.openkcm.protocol.gateway.v1.DecryptBatchResponse;
import org.openkcm.protocol.gateway.v1.DecryptFailure;
import org.openkcm.protocol.gateway.v1.DecryptItem;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.DecryptResponse;
import org.openkcm.protocol.gateway.v1.DecryptResult;
import org.openkcm.protocol.gateway.v1.DestroyBySubjectRequest;
import org.openkcm.protocol.gateway.v1.DestroyBySubjectResponse;
import org.openkcm.protocol.gateway.v1.DestroyKeyRequest;
import org.openkcm.protocol.gateway.v1.DestroyKeyResponse;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;
import org.openkcm.protocol.gateway.v1.GenerateDataKeysRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeysResponse;
import org.openkcm.protocol.gateway.v1.GetKeyRequest;
import org.openkcm.protocol.gateway.v1.GetKeyResponse;

/**
 * Application-facing data keys. DEKs are generated here ({@link SecureRandom}) and wrapped by the
 * Core, ahead of time when a pool is on; envelopes are checked here (structure, tenant) before the
 * Core is asked to open them, and concurrent opens of one tenant travel together. Holds no L2/L3.
 */
public final class DataKeyServiceImpl implements DataKeyService {

  private static final List<Integer> KEY_LENGTHS = List.of(16, 24, 32);

  /** Everything the service works with. */
  public record Parts(
      CoreLink core,
      SecureRandom random,
      int defaultKeyLength,
      int maxBatch,
      Optional<DekCache> cache,
      Optional<DekPool> pool,
      UnwrapBatcher batcher,
      TenantStates tenants,
      KeyVault vault) {}

  private static final java.util.regex.Pattern KEY_ID =
      java.util.regex.Pattern.compile("k_[0-9a-f]{32}");

  private final Parts p;

  public DataKeyServiceImpl(Parts parts) {
    this.p = parts;
  }

  @Override
  public CompletionStage<GenerateDataKeyResponse> generateDataKey(GenerateDataKeyRequest in) {
    try {
      requireId("tenant", in.getTenantId());
      requireId("service", in.getServiceId());
      int length = keyLength(in.getKeyLength());
      EncryptionContext.of(in.getContextMap());
      Optional<DekPool.Pooled> pooled =
          p.pool()
              .flatMap(
                  pool ->
                      pool.take(in.getTenantId(), in.getServiceId(), length, in.getContextMap()));
      if (pooled.isPresent()) {
        byte[] plain = pooled.get().dek().revealBytes();
        pooled.get().dek().wipe();
        return CompletableFuture.completedFuture(
            GenerateDataKeyResponse.newBuilder()
                .setPlaintext(ByteString.copyFrom(plain))
                .setEnvelope(ByteString.copyFrom(pooled.get().envelope()))
                .setL3Version(pooled.get().l3Version())
                .build());
      }
      long token = p.tenants().generation();
      byte[] dek = new byte[length];
      p.random().nextBytes(dek);
      return p.core()
          .wrap(
              in.getTenantId(),
              in.getServiceId(),
              List.of(new CoreLink.ToWrap(dek, in.getContextMap())),
              cid(in.getCorrelationId()))
          .handle(
              (wrapped, failure) -> {
                if (failure != null) {
                  Arrays.fill(dek, (byte) 0);
                  throw GrpcErrors.toGrpc(failure);
                }
                if (p.tenants().confirm(in.getTenantId(), token)) {
                  p.pool()
                      .ifPresent(
                          pool ->
                              pool.warm(
                                  in.getTenantId(), in.getServiceId(), length, in.getContextMap()));
                }
                return GenerateDataKeyResponse.newBuilder()
                    .setPlaintext(ByteString.copyFrom(dek))
                    .setEnvelope(wrapped.getEnvelopes(0))
                    .setL3Version(wrapped.getL3Version())
                    .build();
              });
    } catch (Exception e) {
      return failed(e);
    }
  }

  @Override
  public CompletionStage<GenerateDataKeysResponse> generateDataKeys(GenerateDataKeysRequest in) {
    try {
      requireId("tenant", in.getTenantId());
      requireId("service", in.getServiceId());
      int length = keyLength(in.getKeyLength());
      requireCount("count", in.getCount());
      EncryptionContext.of(in.getContextMap());
      List<byte[]> deks = new ArrayList<>(in.getCount());
      List<CoreLink.ToWrap> items = new ArrayList<>(in.getCount());
      for (int i = 0; i < in.getCount(); i++) {
        byte[] dek = new byte[length];
        p.random().nextBytes(dek);
        deks.add(dek);
        items.add(new CoreLink.ToWrap(dek, in.getContextMap()));
      }
      return p.core()
          .wrap(in.getTenantId(), in.getServiceId(), items, cid(in.getCorrelationId()))
          .handle(
              (wrapped, failure) -> {
                if (failure != null) {
                  deks.forEach(d -> Arrays.fill(d, (byte) 0));
                  throw GrpcErrors.toGrpc(failure);
                }
                GenerateDataKeysResponse.Builder out =
                    GenerateDataKeysResponse.newBuilder().setL3Version(wrapped.getL3Version());
                for (int i = 0; i < deks.size(); i++) {
                  out.addKeys(
                      DataKey.newBuilder()
                          .setPlaintext(ByteString.copyFrom(deks.get(i)))
                          .setEnvelope(wrapped.getEnvelopes(i)));
                  Arrays.fill(deks.get(i), (byte) 0);
                }
                return out.build();
              });
    } catch (Exception e) {
      return failed(e);
    }
  }

  @Override
  public CompletionStage<DecryptResponse> decrypt(DecryptRequest in) {
    try {
      requireId("tenant", in.getTenantId());
      EncryptionContext context =
          checkEnvelope(in.getTenantId(), in.getEnvelope(), in.getContextMap());
      Optional<String> cacheKey =
          p.cache()
              .map(c -> DekCache.key(in.getTenantId(), in.getEnvelope().toByteArray(), context));
      if (cacheKey.isPresent() && p.tenants().mayServeLocally(in.getTenantId())) {
        Optional<byte[]> hit = p.cache().get().get(cacheKey.get());
        if (hit.isPresent()) {
          return CompletableFuture.completedFuture(
              DecryptResponse.newBuilder().setPlaintext(ByteString.copyFrom(hit.get())).build());
        }
      }
      long token = p.tenants().generation();
      UnwrapItem item =
          UnwrapItem.newBuilder()
              .setEnvelope(in.getEnvelope())
              .putAllContext(in.getContextMap())
              .build();
      return p.batcher()
          .unwrap(in.getTenantId(), item)
          .handle(
              (r, failure) -> {
                if (failure != null) {
                  throw GrpcErrors.toGrpc(failure);
                }
                if (r.hasError()) {
                  ErrorReason reason =
                      ErrorReason.parse(r.getError().getReason()).orElse(ErrorReason.INTERNAL);
                  throw GrpcErrors.toGrpc(new OpenKcmException(reason, r.getError().getMessage()));
                }
                if (cacheKey.isPresent() && p.tenants().confirm(in.getTenantId(), token)) {
                  p.cache()
                      .get()
                      .put(cacheKey.get(), in.getTenantId(), r.getPlaintext().toByteArray());
                }
                return DecryptResponse.newBuilder().setPlaintext(r.getPlaintext()).build();
              });
    } catch (Exception e) {
      return failed(e);
    }
  }

  @Override
  public CompletionStage<DecryptBatchResponse> decryptBatch(DecryptBatchRequest in) {
    try {
      requireId("tenant", in.getTenantId());
      requireCount("items", in.getItemsCount());
      DecryptResult[] results = new DecryptResult[in.getItemsCount()];
      List<Integer> toCore = new ArrayList<>();
      List<UnwrapItem> items = new ArrayList<>();
      for (int i = 0; i < in.getItemsCount(); i++) {
        DecryptItem item = in.getItems(i);
        try {
          checkEnvelope(in.getTenantId(), item.getEnvelope(), item.getContextMap());
          toCore.add(i);
          items.add(
              UnwrapItem.newBuilder()
                  .setEnvelope(item.getEnvelope())
                  .putAllContext(item.getContextMap())
                  .build());
        } catch (OpenKcmException e) {
          results[i] = failure(e.reason().name(), e.getMessage());
        }
      }
      CompletionStage<List<UnwrapResult>> opened =
          items.isEmpty()
              ? CompletableFuture.completedFuture(List.of())
              : p.core().unwrap(in.getTenantId(), items, cid(in.getCorrelationId()));
      return opened.handle(
          (list, failure) -> {
            if (failure != null) {
              throw GrpcErrors.toGrpc(failure);
            }
            for (int j = 0; j < list.size(); j++) {
              UnwrapResult r = list.get(j);
              results[toCore.get(j)] =
                  r.hasError()
                      ? failure(r.getError().getReason(), r.getError().getMessage())
                      : DecryptResult.newBuilder().setPlaintext(r.getPlaintext()).build();
            }
            return DecryptBatchResponse.newBuilder().addAllResults(Arrays.asList(results)).build();
          });
    } catch (Exception e) {
      return failed(e);
    }
  }

  @Override
  public CompletionStage<CreateKeyResponse> createKey(CreateKeyRequest in) {
    try {
      Fields.text("subject", in.getSubject(), 256);
      byte[] rnd = new byte[16];
      p.random().nextBytes(rnd);
      String keyId = "k_" + java.util.HexFormat.of().formatHex(rnd);
      return generateDataKey(
              GenerateDataKeyRequest.newBuilder()
                  .setTenantId(in.getTenantId())
                  .setServiceId(in.getServiceId())
                  .putAllContext(in.getContextMap())
                  .setKeyLength(in.getKeyLength())
                  .setCorrelationId(in.getCorrelationId())
                  .build())
          .thenCompose(
              generated ->
                  p.vault()
                      .store(
                          in.getTenantId(),
                          new KeyVault.StoredKey(
                              keyId,
                              in.getServiceId(),
                              generated.getEnvelope().toByteArray(),
                              in.getContextMap(),
                              in.getSubject(),
                              java.time.Instant.now()))
                      .thenApply(
                          v ->
                              CreateKeyResponse.newBuilder()
                                  .setKeyId(keyId)
                                  .setPlaintext(generated.getPlaintext())
                                  .build()));
    } catch (Exception e) {
      return failed(e);
    }
  }

  @Override
  public CompletionStage<GetKeyResponse> getKey(GetKeyRequest in) {
    try {
      requireId("tenant", in.getTenantId());
      requireId("service", in.getServiceId());
      requireKeyId(in.getKeyId());
      return p.vault()
          .lookup(in.getTenantId(), in.getKeyId())
          .thenCompose(
              found -> {
                KeyVault.StoredKey key = ofService(in.getKeyId(), in.getServiceId(), found);
                return decrypt(
                        DecryptRequest.newBuilder()
                            .setTenantId(in.getTenantId())
                            .setEnvelope(ByteString.copyFrom(key.envelope()))
                            .putAllContext(key.context())
                            .setCorrelationId(in.getCorrelationId())
                            .build())
                    .thenApply(
                        d -> GetKeyResponse.newBuilder().setPlaintext(d.getPlaintext()).build());
              });
    } catch (Exception e) {
      return failed(e);
    }
  }

  @Override
  public CompletionStage<DestroyKeyResponse> destroyKey(DestroyKeyRequest in) {
    try {
      requireId("tenant", in.getTenantId());
      requireId("service", in.getServiceId());
      requireKeyId(in.getKeyId());
      return p.vault()
          .lookup(in.getTenantId(), in.getKeyId())
          .thenCompose(
              found -> {
                if (found instanceof KeyVault.Destroyed) {
                  return CompletableFuture.completedFuture(
                      DestroyKeyResponse.newBuilder().setDestroyedNow(false).build());
                }
                ofService(in.getKeyId(), in.getServiceId(), found);
                return p.vault()
                    .destroy(in.getTenantId(), in.getKeyId())
                    .thenApply(now -> DestroyKeyResponse.newBuilder().setDestroyedNow(now).build());
              });
    } catch (Exception e) {
      return failed(e);
    }
  }

  @Override
  public CompletionStage<DestroyBySubjectResponse> destroyBySubject(DestroyBySubjectRequest in) {
    try {
      requireId("tenant", in.getTenantId());
      requireId("service", in.getServiceId());
      Fields.requiredText("subject", in.getSubject(), 256);
      return p.vault()
          .destroyBySubject(in.getTenantId(), in.getServiceId(), in.getSubject())
          .thenApply(n -> DestroyBySubjectResponse.newBuilder().setDestroyed(n).build());
    } catch (Exception e) {
      return failed(e);
    }
  }

  /**
   * The live key {@code keyId} when it was stored for {@code serviceId} and its envelope names that
   * service; otherwise KEY_NOT_FOUND / KEY_DESTROYED (a key of another service of the tenant is not
   * this caller's).
   */
  private static KeyVault.StoredKey ofService(
      String keyId, String serviceId, KeyVault.Lookup found) {
    if (!(found instanceof KeyVault.Found f)) {
      throw GrpcErrors.toGrpc(missing(keyId, found));
    }
    String sealedFor;
    try {
      sealedFor = EnvelopeCodec.decode(f.key().envelope()).header().serviceId();
    } catch (EnvelopeException e) {
      throw GrpcErrors.toGrpc(
          new OpenKcmException(
              ErrorReason.of(e.reason()), "stored key " + keyId + ": " + e.getMessage()));
    }
    if (!f.key().serviceId().equals(serviceId) || !sealedFor.equals(serviceId)) {
      throw GrpcErrors.toGrpc(
          new OpenKcmException(
              ErrorReason.KEY_NOT_FOUND,
              "no key " + keyId + " of service " + serviceId + " in this tenant's vault"));
    }
    return f.key();
  }

  private static OpenKcmException missing(String keyId, KeyVault.Lookup found) {
    if (found instanceof KeyVault.Destroyed d) {
      return new OpenKcmException(
          ErrorReason.KEY_DESTROYED,
          "key " + keyId + " was destroyed at " + d.at() + "; it can never be read again");
    }
    return new OpenKcmException(
        ErrorReason.KEY_NOT_FOUND, "no key " + keyId + " in this tenant's vault");
  }

  private static void requireKeyId(String keyId) {
    if (!KEY_ID.matcher(keyId).matches()) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, "key id must look like k_ followed by 32 hex digits");
    }
  }

  /**
   * Structure and tenant of an envelope, and its context, checked here: bad input never reaches the
   * Core.
   */
  private static EncryptionContext checkEnvelope(
      String tenantId, ByteString envelope, Map<String, String> context) {
    try {
      Envelope parsed = EnvelopeCodec.decode(envelope.toByteArray());
      if (!parsed.tenantId().equals(tenantId)) {
        throw new OpenKcmException(
            ErrorReason.ENVELOPE_TENANT_MISMATCH,
            "this envelope belongs to another tenant, not to " + tenantId);
      }
      return EncryptionContext.of(context);
    } catch (EnvelopeException e) {
      throw new OpenKcmException(ErrorReason.of(e.reason()), e.getMessage());
    }
  }

  private static DecryptResult failure(String reason, String message) {
    return DecryptResult.newBuilder()
        .setError(DecryptFailure.newBuilder().setReason(reason).setMessage(message))
        .build();
  }

  private int keyLength(int requested) {
    int length = requested == 0 ? p.defaultKeyLength() : requested;
    if (!KEY_LENGTHS.contains(length)) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, "key_length must be 16, 24 or 32 bytes, was " + length);
    }
    return length;
  }

  private void requireCount(String field, int count) {
    if (count < 1 || count > p.maxBatch()) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          field + " must be 1.." + p.maxBatch() + " (openkcm.gateway.max-batch), was " + count);
    }
  }

  private static void requireId(String kind, String value) {
    Optional<String> problem = Identifiers.problem(kind, value);
    if (problem.isPresent()) {
      throw new OpenKcmException(ErrorReason.INVALID_ARGUMENT, problem.get());
    }
  }

  private static <T> CompletionStage<T> failed(Exception e) {
    if (e instanceof EnvelopeException ee) {
      return CompletableFuture.failedFuture(
          GrpcErrors.toGrpc(new OpenKcmException(ErrorReason.of(ee.reason()), ee.getMessage())));
    }
    return CompletableFuture.failedFuture(GrpcErrors.toGrpc(e));
  }

  private static String cid(String given) {
    Fields.correlationId("correlation_id", given);
    return given.isBlank() ? UUID.randomUUID().toString() : given;
  }
}
