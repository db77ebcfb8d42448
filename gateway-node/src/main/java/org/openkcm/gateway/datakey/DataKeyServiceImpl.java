package org.openkcm.gateway.datakey;

import com.google.protobuf.ByteString;
import java.security.SecureRandom;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.openkcm.gateway.cache.DekCache;
import org.openkcm.gateway.corelink.CoreLink;
import org.openkcm.gateway.tenantwatch.TenantStates;
import org.openkcm.protocol.core.v1.UnwrapItem;
import org.openkcm.protocol.core.v1.UnwrapResult;
import org.openkcm.protocol.envelope.EncryptionContext;
import org.openkcm.protocol.envelope.Envelope;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.envelope.EnvelopeException;
import org.openkcm.protocol.envelope.Identifiers;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DataKeyService;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.DecryptResponse;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;

/**
 * Application-facing data keys. DEKs are generated here ({@link SecureRandom}) and wrapped by the Core;
 * envelopes are checked here (structure, tenant) before the Core is asked to open them. Holds no L2/L3.
 */
public final class DataKeyServiceImpl implements DataKeyService {

  private static final List<Integer> KEY_LENGTHS = List.of(16, 24, 32);

  private final CoreLink core;
  private final SecureRandom random;
  private final int defaultKeyLength;
  private final Optional<DekCache> cache;
  private final TenantStates tenants;

  public DataKeyServiceImpl(CoreLink core, SecureRandom random, int defaultKeyLength, Optional<DekCache> cache,
      TenantStates tenants) {
    this.core = core;
    this.random = random;
    this.defaultKeyLength = defaultKeyLength;
    this.cache = cache;
    this.tenants = tenants;
  }

  @Override
  public CompletionStage<GenerateDataKeyResponse> generateDataKey(GenerateDataKeyRequest in) {
    try {
      requireId("tenant", in.getTenantId());
      requireId("service", in.getServiceId());
      int length = in.getKeyLength() == 0 ? defaultKeyLength : in.getKeyLength();
      if (!KEY_LENGTHS.contains(length)) {
        throw new OpenKcmException(ErrorReason.INVALID_ARGUMENT, "key_length must be 16, 24 or 32 bytes, was " + length);
      }
      EncryptionContext.of(in.getContextMap());
      byte[] dek = new byte[length];
      random.nextBytes(dek);
      return core.wrap(in.getTenantId(), in.getServiceId(), List.of(new CoreLink.ToWrap(dek, in.getContextMap())),
              cid(in.getCorrelationId()))
          .handle((wrapped, failure) -> {
            if (failure != null) {
              java.util.Arrays.fill(dek, (byte) 0);
              throw GrpcErrors.toGrpc(failure);
            }
            return GenerateDataKeyResponse.newBuilder()
                .setPlaintext(ByteString.copyFrom(dek))
                .setEnvelope(wrapped.getEnvelopes(0))
                .setL3Version(wrapped.getL3Version())
                .build();
          });
    } catch (OpenKcmException e) {
      return CompletableFuture.failedFuture(GrpcErrors.toGrpc(e));
    } catch (EnvelopeException e) {
      return CompletableFuture.failedFuture(GrpcErrors.toGrpc(new OpenKcmException(ErrorReason.of(e.reason()), e.getMessage())));
    }
  }

  @Override
  public CompletionStage<DecryptResponse> decrypt(DecryptRequest in) {
    try {
      requireId("tenant", in.getTenantId());
      Envelope envelope = EnvelopeCodec.decode(in.getEnvelope().toByteArray());
      if (!envelope.tenantId().equals(in.getTenantId())) {
        throw new OpenKcmException(ErrorReason.ENVELOPE_TENANT_MISMATCH,
            "this envelope belongs to another tenant, not to " + in.getTenantId());
      }
      EncryptionContext.of(in.getContextMap());
      Optional<String> cacheKey = cache.map(c -> DekCache.key(in.getTenantId(), in.getEnvelope().toByteArray(),
          in.getContextMap()));
      if (cacheKey.isPresent() && tenants.mayServeLocally(in.getTenantId())) {
        Optional<byte[]> hit = cache.get().get(cacheKey.get());
        if (hit.isPresent()) {
          return CompletableFuture.completedFuture(DecryptResponse.newBuilder()
              .setPlaintext(ByteString.copyFrom(hit.get())).build());
        }
      }
      long token = tenants.generation();
      UnwrapItem item = UnwrapItem.newBuilder().setEnvelope(in.getEnvelope()).putAllContext(in.getContextMap()).build();
      return core.unwrap(in.getTenantId(), List.of(item), cid(in.getCorrelationId()))
          .handle((results, failure) -> {
            if (failure != null) {
              throw GrpcErrors.toGrpc(failure);
            }
            UnwrapResult r = results.get(0);
            if (r.hasError()) {
              ErrorReason reason = ErrorReason.parse(r.getError().getReason()).orElse(ErrorReason.INTERNAL);
              throw GrpcErrors.toGrpc(new OpenKcmException(reason, r.getError().getMessage()));
            }
            if (cacheKey.isPresent() && tenants.confirm(in.getTenantId(), token)) {
              cache.get().put(cacheKey.get(), in.getTenantId(), r.getPlaintext().toByteArray());
            }
            return DecryptResponse.newBuilder().setPlaintext(r.getPlaintext()).build();
          });
    } catch (OpenKcmException e) {
      return CompletableFuture.failedFuture(GrpcErrors.toGrpc(e));
    } catch (EnvelopeException e) {
      return CompletableFuture.failedFuture(GrpcErrors.toGrpc(new OpenKcmException(ErrorReason.of(e.reason()), e.getMessage())));
    }
  }

  private static void requireId(String kind, String value) {
    Optional<String> problem = Identifiers.problem(kind, value);
    if (problem.isPresent()) {
      throw new OpenKcmException(ErrorReason.INVALID_ARGUMENT, problem.get());
    }
  }

  private static String cid(String given) {
    return given.isBlank() ? UUID.randomUUID().toString() : given;
  }
}
