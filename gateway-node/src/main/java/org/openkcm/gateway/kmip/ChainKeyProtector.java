package org.openkcm.gateway.kmip;

import com.google.protobuf.ByteString;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.openkcm.gateway.corelink.CoreLink;
import org.openkcm.gateway.tenantwatch.TenantStates;
import org.openkcm.kmip.message.KmipException;
import org.openkcm.kmip.message.ResultReason;
import org.openkcm.kmip.server.KeyProtector;
import org.openkcm.kmip.server.Owner;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DataKeyService;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;

/**
 * KMIP key material under the tenant's chain: each object's material is sealed (AES-256-GCM, the
 * object's id as additional data, so a blob moved to another object does not open) under its own
 * data key, which the tenant's L3 wraps through the gateway's usual {@link DataKeyService} (pool,
 * cache, kill and revocation checks included). Stored form: {@code 0x01 | envelope length (2) |
 * envelope | nonce (12) | ciphertext+tag}. Without the Core's consent (killed tenant, revoked L1,
 * retired L3) the material cannot be opened.
 */
public final class ChainKeyProtector implements KeyProtector {

  private static final byte FORMAT = 1;
  private static final int NONCE = 12;

  /**
   * The data keys' encryption context: the same for every object, so they come from the gateway's
   * pool (and its cache, when on); the object's id is bound by the seal's additional data instead.
   */
  private static final Map<String, String> CONTEXT = Map.of("openkcm", "kmip-object");

  private final DataKeyService dataKeys;
  private final CoreLink core;
  private final TenantStates tenants;
  private final SecureRandom random;
  private final Duration timeout;

  public ChainKeyProtector(
      DataKeyService dataKeys,
      CoreLink core,
      TenantStates tenants,
      SecureRandom random,
      Duration timeout) {
    this.dataKeys = dataKeys;
    this.core = core;
    this.tenants = tenants;
    this.random = random;
    this.timeout = timeout;
  }

  /**
   * Served when this gateway may serve the tenant from what it holds (a recent Core answer, no kill
   * since); otherwise one Core call decides (a killed tenant, a revoked L1 or an unknown service is
   * refused there).
   */
  @Override
  public void requireServing(Owner owner) {
    if (tenants.mayServeLocally(owner.tenant())) {
      return;
    }
    long token = tenants.generation();
    byte[] probe = new byte[16];
    await(
        core.wrap(
            owner.tenant(),
            owner.service(),
            List.of(new CoreLink.ToWrap(probe, Map.of("openkcm", "kmip-probe"))),
            "kmip-probe"));
    tenants.confirm(owner.tenant(), token);
  }

  @Override
  public byte[] protect(Owner owner, String uid, byte[] material) {
    var generated =
        await(
            dataKeys.generateDataKey(
                GenerateDataKeyRequest.newBuilder()
                    .setTenantId(owner.tenant())
                    .setServiceId(owner.service())
                    .setKeyLength(32)
                    .putAllContext(CONTEXT)
                    .build()));
    byte[] dek = generated.getPlaintext().toByteArray();
    byte[] envelope = generated.getEnvelope().toByteArray();
    try {
      byte[] nonce = new byte[NONCE];
      random.nextBytes(nonce);
      byte[] sealed = gcm(Cipher.ENCRYPT_MODE, dek, nonce, uid, material);
      return ByteBuffer.allocate(1 + 2 + envelope.length + NONCE + sealed.length)
          .put(FORMAT)
          .putShort((short) envelope.length)
          .put(envelope)
          .put(nonce)
          .put(sealed)
          .array();
    } finally {
      Arrays.fill(dek, (byte) 0);
    }
  }

  @Override
  public byte[] open(Owner owner, String uid, byte[] stored) {
    ByteBuffer b = ByteBuffer.wrap(stored);
    if (stored.length < 3 + NONCE + 16 || b.get() != FORMAT) {
      throw new KmipException(
          ResultReason.CRYPTOGRAPHIC_FAILURE, "stored object " + uid + " is not in a known format");
    }
    int envLength = Short.toUnsignedInt(b.getShort());
    if (envLength > b.remaining() - NONCE - 16) {
      throw new KmipException(
          ResultReason.CRYPTOGRAPHIC_FAILURE, "stored object " + uid + " is truncated");
    }
    byte[] envelope = new byte[envLength];
    b.get(envelope);
    byte[] nonce = new byte[NONCE];
    b.get(nonce);
    byte[] sealed = new byte[b.remaining()];
    b.get(sealed);
    byte[] dek =
        await(
                dataKeys.decrypt(
                    DecryptRequest.newBuilder()
                        .setTenantId(owner.tenant())
                        .setEnvelope(ByteString.copyFrom(envelope))
                        .putAllContext(CONTEXT)
                        .build()))
            .getPlaintext()
            .toByteArray();
    try {
      return gcm(Cipher.DECRYPT_MODE, dek, nonce, uid, sealed);
    } finally {
      Arrays.fill(dek, (byte) 0);
    }
  }

  private static byte[] gcm(int mode, byte[] key, byte[] nonce, String uid, byte[] input) {
    try {
      Cipher c = Cipher.getInstance("AES/GCM/NoPadding");
      c.init(mode, new SecretKeySpec(key, "AES"), new GCMParameterSpec(128, nonce));
      c.updateAAD(uid.getBytes(StandardCharsets.UTF_8));
      return c.doFinal(input);
    } catch (GeneralSecurityException e) {
      throw new KmipException(
          ResultReason.CRYPTOGRAPHIC_FAILURE,
          "object " + uid + " does not open under its data key (tampered or moved)");
    }
  }

  private <T> T await(CompletionStage<T> call) {
    try {
      return call.toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KmipException(ResultReason.GENERAL_FAILURE, "interrupted");
    } catch (TimeoutException e) {
      throw new KmipException(
          ResultReason.GENERAL_FAILURE, "the key service did not answer within " + timeout);
    } catch (Exception e) {
      throw kmip(GrpcErrors.fromGrpc(e));
    }
  }

  /** The chain's refusal as the KMIP failure a client sees, naming OpenKCM's reason. */
  static KmipException kmip(OpenKcmException e) {
    ResultReason reason =
        switch (e.reason()) {
          case TENANT_KILLED,
              PERMISSION_DENIED,
              TENANT_NOT_FOUND,
              SERVICE_NOT_FOUND,
              TENANT_OFFBOARDED,
              SERVICE_PINNED,
              HOME_REGION_SILENT,
              L1_REVOKED,
              L1_REJECTED ->
              ResultReason.PERMISSION_DENIED;
          case ENVELOPE_AUTHENTICATION_FAILED,
              ENVELOPE_MALFORMED,
              ENVELOPE_TRUNCATED,
              ENVELOPE_BAD_MAGIC,
              ENVELOPE_TENANT_MISMATCH,
              ENVELOPE_SERVICE_MISMATCH,
              KEY_VERSION_RETIRED ->
              ResultReason.CRYPTOGRAPHIC_FAILURE;
          default -> ResultReason.GENERAL_FAILURE;
        };
    return new KmipException(reason, "[" + e.reason() + "] " + e.getMessage());
  }
}
