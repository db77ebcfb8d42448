package org.openkcm.gateway.datakey;

import static org.openkcm.gateway.transport.Requests.cid;
import static org.openkcm.gateway.transport.Requests.failed;
import static org.openkcm.gateway.transport.Requests.requireId;

import com.google.protobuf.ByteString;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.openkcm.gateway.batch.Coalescer;
import org.openkcm.gateway.cache.DekCache;
import org.openkcm.gateway.corelink.CoreLink;
import org.openkcm.gateway.pool.DekPool;
import org.openkcm.gateway.tenantwatch.TenantStates;
import org.openkcm.protocol.core.v1.RewrapResult;
import org.openkcm.protocol.core.v1.UnwrapItem;
import org.openkcm.protocol.core.v1.UnwrapResult;
import org.openkcm.protocol.envelope.EncryptionContext;
import org.openkcm.protocol.envelope.Envelope;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.envelope.EnvelopeException;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.ItemErrors;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DataKey;
import org.openkcm.protocol.gateway.v1.DataKeyService;
import org.openkcm.protocol.gateway.v1.DecryptBatchRequest;
import org.openkcm.protocol.gateway.v1.DecryptBatchResponse;
import org.openkcm.protocol.gateway.v1.DecryptFailure;
import org.openkcm.protocol.gateway.v1.DecryptItem;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.DecryptResponse;
import org.openkcm.protocol.gateway.v1.DecryptResult;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;
import org.openkcm.protocol.gateway.v1.GenerateDataKeysRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeysResponse;
import org.openkcm.protocol.gateway.v1.RewrapBatchRequest;
import org.openkcm.protocol.gateway.v1.RewrapBatchResponse;
import org.openkcm.protocol.gateway.v1.RewrapBatchResult;
import org.openkcm.protocol.gateway.v1.RewrapRequest;
import org.openkcm.protocol.gateway.v1.RewrapResponse;

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
      Coalescer<String, UnwrapItem, UnwrapResult> unwraps,
      Coalescer<WrapLane, CoreLink.ToWrap, CoreLink.WrappedKey> wraps,
      TenantStates tenants) {}

  /** Where single-key wraps coalesce: one lane per tenant and service. */
  public record WrapLane(String tenantId, String serviceId) {}

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
      return p.wraps()
          .submit(
              new WrapLane(in.getTenantId(), in.getServiceId()),
              new CoreLink.ToWrap(dek, in.getContextMap()),
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
                    .setEnvelope(wrapped.envelope())
                    .setL3Version(wrapped.l3Version())
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
      // one draw from the generator for the whole batch, not one (synchronized) call per key
      byte[] all = new byte[in.getCount() * length];
      p.random().nextBytes(all);
      Map<String, String> context = in.getContextMap();
      for (int i = 0; i < in.getCount(); i++) {
        byte[] dek = Arrays.copyOfRange(all, i * length, (i + 1) * length);
        deks.add(dek);
        items.add(new CoreLink.ToWrap(dek, context));
      }
      Arrays.fill(all, (byte) 0);
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
                List<DataKey> keys = new ArrayList<>(deks.size()); // added at once, sized once
                for (int i = 0; i < deks.size(); i++) {
                  keys.add(
                      DataKey.newBuilder()
                          .setPlaintext(ByteString.copyFrom(deks.get(i)))
                          .setEnvelope(wrapped.getEnvelopes(i))
                          .build());
                  Arrays.fill(deks.get(i), (byte) 0);
                }
                return out.addAllKeys(keys).build();
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
      return p.unwraps()
          .submit(in.getTenantId(), item, cid(in.getCorrelationId()))
          .handle(
              (r, failure) -> {
                if (failure != null) {
                  throw GrpcErrors.toGrpc(failure);
                }
                if (r.hasError()) {
                  throw GrpcErrors.toGrpc(ItemErrors.toException(r.getError()));
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
      List<UnwrapItem> items = new ArrayList<>(in.getItemsCount());
      // a batch's items mostly share one context: checked once, then compared
      EncryptionContext.Memo contexts = new EncryptionContext.Memo();
      for (int i = 0; i < in.getItemsCount(); i++) {
        DecryptItem item = in.getItems(i);
        try {
          checkEnvelope(in.getTenantId(), item.getEnvelope(), item.getContextMap(), contexts);
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
  public CompletionStage<RewrapResponse> rewrap(RewrapRequest in) {
    try {
      requireId("tenant", in.getTenantId());
      checkEnvelope(in.getTenantId(), in.getEnvelope(), in.getContextMap());
      UnwrapItem item =
          UnwrapItem.newBuilder()
              .setEnvelope(in.getEnvelope())
              .putAllContext(in.getContextMap())
              .build();
      return p.core()
          .rewrap(in.getTenantId(), List.of(item), cid(in.getCorrelationId()))
          .handle(
              (list, failure) -> {
                if (failure != null) {
                  throw GrpcErrors.toGrpc(failure);
                }
                RewrapResult r = list.get(0);
                if (r.hasError()) {
                  throw GrpcErrors.toGrpc(ItemErrors.toException(r.getError()));
                }
                return RewrapResponse.newBuilder()
                    .setEnvelope(r.getEnvelope())
                    .setL3Version(r.getL3Version())
                    .build();
              });
    } catch (Exception e) {
      return failed(e);
    }
  }

  @Override
  public CompletionStage<RewrapBatchResponse> rewrapBatch(RewrapBatchRequest in) {
    try {
      requireId("tenant", in.getTenantId());
      requireCount("items", in.getItemsCount());
      RewrapBatchResult[] results = new RewrapBatchResult[in.getItemsCount()];
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
          results[i] = rewrapFailure(e.reason().name(), e.getMessage());
        }
      }
      CompletionStage<List<RewrapResult>> done =
          items.isEmpty()
              ? CompletableFuture.completedFuture(List.of())
              : p.core().rewrap(in.getTenantId(), items, cid(in.getCorrelationId()));
      return done.handle(
          (list, failure) -> {
            if (failure != null) {
              throw GrpcErrors.toGrpc(failure);
            }
            for (int j = 0; j < list.size(); j++) {
              RewrapResult r = list.get(j);
              results[toCore.get(j)] =
                  r.hasError()
                      ? rewrapFailure(r.getError().getReason(), r.getError().getMessage())
                      : RewrapBatchResult.newBuilder()
                          .setRewrapped(
                              RewrapResponse.newBuilder()
                                  .setEnvelope(r.getEnvelope())
                                  .setL3Version(r.getL3Version()))
                          .build();
            }
            return RewrapBatchResponse.newBuilder().addAllResults(Arrays.asList(results)).build();
          });
    } catch (Exception e) {
      return failed(e);
    }
  }

  private static RewrapBatchResult rewrapFailure(String reason, String message) {
    return RewrapBatchResult.newBuilder()
        .setError(DecryptFailure.newBuilder().setReason(reason).setMessage(message))
        .build();
  }

  /**
   * Structure and tenant of an envelope, and its context, checked here: bad input never reaches the
   * Core.
   */
  private static EncryptionContext checkEnvelope(
      String tenantId, ByteString envelope, Map<String, String> context) {
    return checkEnvelope(tenantId, envelope, context, new EncryptionContext.Memo());
  }

  private static EncryptionContext checkEnvelope(
      String tenantId,
      ByteString envelope,
      Map<String, String> context,
      EncryptionContext.Memo contexts) {
    try {
      Envelope parsed = EnvelopeCodec.decode(envelope.toByteArray());
      if (!parsed.tenantId().equals(tenantId)) {
        throw new OpenKcmException(
            ErrorReason.ENVELOPE_TENANT_MISMATCH,
            "this envelope belongs to another tenant, not to " + tenantId);
      }
      return contexts.of(context);
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
}
