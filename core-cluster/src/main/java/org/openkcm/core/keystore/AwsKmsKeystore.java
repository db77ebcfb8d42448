package org.openkcm.core.keystore;

import com.typesafe.config.Config;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openkcm.core.keystore.L1KeystoreException.Kind;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.protocol.key.KeyMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.DisabledException;
import software.amazon.awssdk.services.kms.model.IncorrectKeyException;
import software.amazon.awssdk.services.kms.model.InvalidCiphertextException;
import software.amazon.awssdk.services.kms.model.KeyMetadata;
import software.amazon.awssdk.services.kms.model.KeySpec;
import software.amazon.awssdk.services.kms.model.KeyState;
import software.amazon.awssdk.services.kms.model.KeyUsageType;
import software.amazon.awssdk.services.kms.model.KmsException;
import software.amazon.awssdk.services.kms.model.KmsInvalidStateException;
import software.amazon.awssdk.services.kms.model.NotFoundException;

/**
 * L1 in the customer's AWS KMS (BYOK). Reference: {@code aws-kms:<key ARN or alias ARN>}; the
 * region comes from the ARN. L2 is wrapped with {@code Encrypt}/{@code Decrypt} under the
 * encryption context the entity gives (tenant, L2 version, correlation id of the onboarding), so
 * each use appears, matchable, in the customer's CloudTrail.
 *
 * <p>Uses the synchronous SDK client over the JDK's URLConnection, on the keystore's blocking
 * dispatcher.
 */
public final class AwsKmsKeystore implements L1Keystore {

  public static final String SCHEME = "aws-kms";
  private static final Logger log = LoggerFactory.getLogger(AwsKmsKeystore.class);
  private static final Pattern ARN =
      Pattern.compile("arn:aws[a-z-]*:kms:([a-z0-9-]+):(\\d{12}):(key|alias)/[A-Za-z0-9/_+=.@-]+");

  /** Settings from {@code openkcm.core.keystore.aws-kms}. */
  public record Settings(
      Optional<URI> endpointOverride,
      Duration apiCallTimeout,
      Duration apiCallAttemptTimeout,
      Optional<AwsBasicCredentials> staticCredentials) {

    public static Settings fromConfig(Config c) {
      String endpoint = c.getString("endpoint-override");
      String keyId = c.getString("static-credentials.access-key-id");
      return new Settings(
          endpoint.isBlank() ? Optional.empty() : Optional.of(URI.create(endpoint)),
          c.getDuration("api-call-timeout"),
          c.getDuration("api-call-attempt-timeout"),
          keyId.isBlank()
              ? Optional.empty()
              : Optional.of(
                  AwsBasicCredentials.create(
                      keyId, c.getString("static-credentials.secret-access-key"))));
    }

    @Override
    public String toString() {
      return "Settings[endpoint="
          + endpointOverride
          + ", timeouts="
          + apiCallTimeout
          + "/"
          + apiCallAttemptTimeout
          + ", static credentials="
          + staticCredentials.isPresent()
          + "]";
    }
  }

  private final Settings settings;
  private final Executor blocking;
  private final Map<String, KmsClient> clients = new ConcurrentHashMap<>();

  public AwsKmsKeystore(Settings settings, Executor blocking) {
    this.settings = settings;
    this.blocking = blocking;
    log.info("AWS KMS L1 driver enabled ({})", settings);
  }

  @Override
  public String scheme() {
    return SCHEME;
  }

  @Override
  public CompletionStage<Void> validate(L1Reference key, String cid) {
    return call(
        key,
        "DescribeKey",
        Map.of(),
        cid,
        () -> client(key).describeKey(r -> r.keyId(key.keyId())),
        response -> {
          KeyMetadata m = response.keyMetadata();
          if (m.keyState() == KeyState.DISABLED) {
            throw new L1KeystoreException(
                Kind.KEY_DISABLED, "AWS KMS key " + key.keyId() + " is disabled");
          }
          if (m.keyState() == KeyState.PENDING_DELETION) {
            throw new L1KeystoreException(
                Kind.KEY_DISABLED, "AWS KMS key " + key.keyId() + " is pending deletion");
          }
          if (m.keyUsage() != KeyUsageType.ENCRYPT_DECRYPT
              || m.keySpec() != KeySpec.SYMMETRIC_DEFAULT) {
            throw new L1KeystoreException(
                Kind.UNSUPPORTED_REFERENCE,
                "AWS KMS key "
                    + key.keyId()
                    + " is "
                    + m.keySpecAsString()
                    + "/"
                    + m.keyUsageAsString()
                    + "; an L1 must be a SYMMETRIC_DEFAULT key with usage ENCRYPT_DECRYPT");
          }
          return (Void) null;
        });
  }

  @Override
  public CompletionStage<byte[]> wrap(
      L1Reference key, KeyMaterial plaintext, Map<String, String> ctx, String cid) {
    return call(
        key,
        "Encrypt",
        ctx,
        cid,
        () -> {
          byte[] raw = plaintext.revealBytes();
          try {
            return client(key)
                .encrypt(
                    r ->
                        r.keyId(key.keyId())
                            .plaintext(SdkBytes.fromByteArray(raw))
                            .encryptionContext(ctx));
          } finally {
            java.util.Arrays.fill(raw, (byte) 0);
          }
        },
        r -> r.ciphertextBlob().asByteArray());
  }

  @Override
  public CompletionStage<KeyMaterial> unwrap(
      L1Reference key, byte[] wrapped, Map<String, String> ctx, String cid) {
    return call(
        key,
        "Decrypt",
        ctx,
        cid,
        () ->
            client(key)
                .decrypt(
                    r ->
                        r.keyId(key.keyId())
                            .ciphertextBlob(SdkBytes.fromByteArray(wrapped))
                            .encryptionContext(ctx)),
        r -> KeyMaterial.adopt(r.plaintext().asByteArray()));
  }

  /**
   * One KMS call on the blocking executor, audited with the tenant (from the encryption context),
   * our correlation id and the request id AWS returned — the {@code requestID} CloudTrail logs for
   * the same call, so a customer can match our records with theirs line by line.
   */
  private <R extends software.amazon.awssdk.services.kms.model.KmsResponse, T>
      CompletionStage<T> call(
          L1Reference key,
          String operation,
          Map<String, String> ctx,
          String cid,
          Supplier<R> request,
          java.util.function.Function<R, T> result) {
    String tenant = ctx.getOrDefault("openkcm:tenant", "");
    return CompletableFuture.supplyAsync(
        () -> {
          long start = System.nanoTime();
          try {
            R response = request.get();
            T out = result.apply(response);
            AuditLog.record(
                "l1." + operation,
                "tenant",
                tenant,
                "keystore",
                "aws-kms",
                "key",
                key.keyId(),
                "cid",
                cid,
                "awsRequestId",
                response.responseMetadata().requestId(),
                "outcome",
                "ok",
                "ms",
                (System.nanoTime() - start) / 1_000_000);
            return out;
          } catch (L1KeystoreException e) {
            AuditLog.record(
                "l1." + operation,
                "tenant",
                tenant,
                "keystore",
                "aws-kms",
                "key",
                key.keyId(),
                "cid",
                cid,
                "outcome",
                e.kind());
            throw e;
          } catch (SdkException e) {
            L1KeystoreException mapped = map(key, operation, e);
            AuditLog.record(
                "l1." + operation,
                "tenant",
                tenant,
                "keystore",
                "aws-kms",
                "key",
                key.keyId(),
                "cid",
                cid,
                "awsRequestId",
                e instanceof software.amazon.awssdk.awscore.exception.AwsServiceException a
                    ? String.valueOf(a.requestId())
                    : "",
                "outcome",
                mapped.kind());
            throw mapped;
          }
        },
        blocking);
  }

  /** The one translation of KMS failures into "the customer said no" versus "we could not ask". */
  static L1KeystoreException map(L1Reference key, String operation, SdkException e) {
    String what = "AWS KMS " + operation + " with " + key.keyId();
    if (e instanceof DisabledException) {
      return new L1KeystoreException(Kind.KEY_DISABLED, what + ": the key is disabled");
    }
    if (e instanceof KmsInvalidStateException) {
      return new L1KeystoreException(
          Kind.KEY_DISABLED, what + ": the key is not usable (disabled or pending deletion)");
    }
    if (e instanceof NotFoundException) {
      return new L1KeystoreException(Kind.KEY_NOT_FOUND, what + ": no such key");
    }
    if (e instanceof InvalidCiphertextException || e instanceof IncorrectKeyException) {
      return new L1KeystoreException(
          Kind.INVALID_CIPHERTEXT,
          what + ": the blob does not open with this key and encryption context");
    }
    if (e instanceof KmsException k) {
      String code = k.awsErrorDetails() == null ? "" : k.awsErrorDetails().errorCode();
      if ("AccessDeniedException".equals(code) || k.statusCode() == 403) {
        return new L1KeystoreException(
            Kind.ACCESS_DENIED, what + ": access denied by the key policy or IAM");
      }
      if (k.statusCode() >= 500
          || "KMSInternalException".equals(code)
          || "KeyUnavailableException".equals(code)
          || "DependencyTimeoutException".equals(code)
          || "ThrottlingException".equals(code)) {
        return new L1KeystoreException(Kind.UNAVAILABLE, what + ": KMS failed (" + code + ")");
      }
      return new L1KeystoreException(
          Kind.UNSUPPORTED_REFERENCE, what + ": rejected (" + code + ")");
    }
    if (e instanceof SdkClientException) {
      return new L1KeystoreException(
          Kind.UNAVAILABLE, what + ": unreachable (" + e.getMessage() + ")");
    }
    return new L1KeystoreException(Kind.UNAVAILABLE, what + ": " + e.getClass().getSimpleName());
  }

  private KmsClient client(L1Reference key) {
    Matcher m = ARN.matcher(key.keyId());
    if (!m.matches()) {
      throw new L1KeystoreException(
          Kind.UNSUPPORTED_REFERENCE,
          "AWS KMS reference '"
              + key.keyId()
              + "' must be a key or alias ARN, e.g. arn:aws:kms:eu-west-1:111122223333:key/1234abcd-...");
    }
    return clients.computeIfAbsent(m.group(1), this::newClient);
  }

  private KmsClient newClient(String region) {
    AwsCredentialsProvider credentials =
        settings
            .staticCredentials()
            .<AwsCredentialsProvider>map(StaticCredentialsProvider::create)
            .orElseGet(DefaultCredentialsProvider::create);
    var builder =
        KmsClient.builder()
            .region(Region.of(region))
            .credentialsProvider(credentials)
            .httpClientBuilder(
                UrlConnectionHttpClient.builder()
                    .connectionTimeout(settings.apiCallAttemptTimeout())
                    .socketTimeout(settings.apiCallAttemptTimeout()))
            .overrideConfiguration(
                o ->
                    o.apiCallTimeout(settings.apiCallTimeout())
                        .apiCallAttemptTimeout(settings.apiCallAttemptTimeout()));
    settings.endpointOverride().ifPresent(builder::endpointOverride);
    return builder.build();
  }

  /** Closes the SDK clients. */
  public void close() {
    clients.values().forEach(KmsClient::close);
  }
}
