package org.openkcm.gateway.vault;

import static org.openkcm.gateway.transport.Requests.failed;
import static org.openkcm.gateway.transport.Requests.requireId;

import com.google.protobuf.ByteString;
import java.security.SecureRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.envelope.EnvelopeException;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.Fields;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.CreateKeyRequest;
import org.openkcm.protocol.gateway.v1.CreateKeyResponse;
import org.openkcm.protocol.gateway.v1.DataKeyService;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.DestroyBySubjectRequest;
import org.openkcm.protocol.gateway.v1.DestroyBySubjectResponse;
import org.openkcm.protocol.gateway.v1.DestroyKeyRequest;
import org.openkcm.protocol.gateway.v1.DestroyKeyResponse;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GetKeyRequest;
import org.openkcm.protocol.gateway.v1.GetKeyResponse;
import org.openkcm.protocol.gateway.v1.KeyVaultService;

/**
 * The L4 vault API ({@code KeyVaultService}): a data key is generated and wrapped like any other
 * (through {@link DataKeyService}), its envelope kept in a {@link KeyVault} under a random id;
 * reads open it again, destroys crypto-shred it. Every call acts for one service of the tenant and
 * touches only its keys.
 */
public final class KeyVaultServiceImpl implements KeyVaultService {

  private static final java.util.regex.Pattern KEY_ID =
      java.util.regex.Pattern.compile("k_[0-9a-f]{32}");

  private final KeyVault vault;
  private final DataKeyService dataKeys;
  private final SecureRandom random;

  public KeyVaultServiceImpl(KeyVault vault, DataKeyService dataKeys, SecureRandom random) {
    this.vault = vault;
    this.dataKeys = dataKeys;
    this.random = random;
  }

  @Override
  public CompletionStage<CreateKeyResponse> createKey(CreateKeyRequest in) {
    try {
      Fields.text("subject", in.getSubject(), 256);
      byte[] rnd = new byte[16];
      random.nextBytes(rnd);
      String keyId = "k_" + java.util.HexFormat.of().formatHex(rnd);
      return dataKeys
          .generateDataKey(
              GenerateDataKeyRequest.newBuilder()
                  .setTenantId(in.getTenantId())
                  .setServiceId(in.getServiceId())
                  .putAllContext(in.getContextMap())
                  .setKeyLength(in.getKeyLength())
                  .setCorrelationId(in.getCorrelationId())
                  .build())
          .thenCompose(
              generated ->
                  vault
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
      return vault
          .lookup(in.getTenantId(), in.getKeyId())
          .thenCompose(
              found -> {
                KeyVault.StoredKey key = ofService(in.getKeyId(), in.getServiceId(), found);
                return dataKeys
                    .decrypt(
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
      return vault
          .lookup(in.getTenantId(), in.getKeyId())
          .thenCompose(
              found -> {
                if (found instanceof KeyVault.Destroyed) {
                  return CompletableFuture.completedFuture(
                      DestroyKeyResponse.newBuilder().setDestroyedNow(false).build());
                }
                ofService(in.getKeyId(), in.getServiceId(), found);
                return vault
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
      return vault
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
}
