package org.openkcm.gateway.transport;

import com.google.protobuf.ByteString;
import io.grpc.ServerServiceDefinition;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import java.util.function.Supplier;
import org.openkcm.node.authz.Authorizer;
import org.openkcm.node.authz.Guard;
import org.openkcm.node.authz.Guard.Scope;
import org.openkcm.node.grpc.PeerInterceptor;
import org.openkcm.node.grpc.UnaryService;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.envelope.EnvelopeException;
import org.openkcm.protocol.gateway.v1.CreateKeyRequest;
import org.openkcm.protocol.gateway.v1.CreateKeyResponse;
import org.openkcm.protocol.gateway.v1.DataKeyService;
import org.openkcm.protocol.gateway.v1.DecryptBatchRequest;
import org.openkcm.protocol.gateway.v1.DecryptBatchResponse;
import org.openkcm.protocol.gateway.v1.DecryptItem;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.DecryptResponse;
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
import org.openkcm.protocol.gateway.v1.KeyVaultService;
import org.openkcm.protocol.gateway.v1.RewrapBatchRequest;
import org.openkcm.protocol.gateway.v1.RewrapBatchResponse;
import org.openkcm.protocol.gateway.v1.RewrapRequest;
import org.openkcm.protocol.gateway.v1.RewrapResponse;

/**
 * {@link DataKeyService} as a grpc-java service definition (wire-identical to the pekko-grpc one),
 * each method behind the authorization policy when there is one: the caller's identity ({@link
 * PeerInterceptor#PEER}) must be allowed the method on the request's tenant and service. For opens
 * the service is read from each envelope's header; vault reads and deletes name the service they
 * act for, and the vault then touches only keys stored for that service.
 */
public final class DataKeyServers {

  private DataKeyServers() {}

  public static ServerServiceDefinition definition(DataKeyService s, Optional<Authorizer> authz) {
    return definition(s, authz, false);
  }

  /** With {@code auditCalls}: one audit record per call ({@code openkcm.audit.gateway-calls}). */
  public static ServerServiceDefinition definition(
      DataKeyService s, Optional<Authorizer> authz, boolean auditCalls) {
    Checked g = new Checked(new Guard(authz), auditCalls);
    return UnaryService.named(DataKeyService.name)
        .method(
            "GenerateDataKey",
            GenerateDataKeyRequest.getDefaultInstance(),
            GenerateDataKeyResponse.getDefaultInstance(),
            g.check(
                "GenerateDataKey",
                r -> Set.of(Scope.tenant(r.getTenantId(), r.getServiceId())),
                s::generateDataKey))
        .method(
            "Decrypt",
            DecryptRequest.getDefaultInstance(),
            DecryptResponse.getDefaultInstance(),
            g.check(
                "Decrypt",
                r -> Set.of(Scope.tenant(r.getTenantId(), serviceOf(r.getEnvelope()))),
                s::decrypt))
        .method(
            "GenerateDataKeys",
            GenerateDataKeysRequest.getDefaultInstance(),
            GenerateDataKeysResponse.getDefaultInstance(),
            g.check(
                "GenerateDataKeys",
                r -> Set.of(Scope.tenant(r.getTenantId(), r.getServiceId())),
                s::generateDataKeys))
        .method(
            "DecryptBatch",
            DecryptBatchRequest.getDefaultInstance(),
            DecryptBatchResponse.getDefaultInstance(),
            g.check("DecryptBatch", DataKeyServers::scopes, s::decryptBatch))
        .method(
            "Rewrap",
            RewrapRequest.getDefaultInstance(),
            RewrapResponse.getDefaultInstance(),
            g.check(
                "Rewrap",
                r -> Set.of(Scope.tenant(r.getTenantId(), serviceOf(r.getEnvelope()))),
                s::rewrap))
        .method(
            "RewrapBatch",
            RewrapBatchRequest.getDefaultInstance(),
            RewrapBatchResponse.getDefaultInstance(),
            g.check("RewrapBatch", r -> scopes(r.getTenantId(), r.getItemsList()), s::rewrapBatch))
        .build();
  }

  /**
   * The vault API ({@code KeyVaultService}), each method behind the policy for the service it
   * names.
   */
  public static ServerServiceDefinition vaultDefinition(
      KeyVaultService s, Optional<Authorizer> authz) {
    return vaultDefinition(s, authz, false);
  }

  /** With {@code auditCalls}: one audit record per call ({@code openkcm.audit.gateway-calls}). */
  public static ServerServiceDefinition vaultDefinition(
      KeyVaultService s, Optional<Authorizer> authz, boolean auditCalls) {
    Checked g = new Checked(new Guard(authz), auditCalls);
    return UnaryService.named(KeyVaultService.name)
        .method(
            "CreateKey",
            CreateKeyRequest.getDefaultInstance(),
            CreateKeyResponse.getDefaultInstance(),
            g.check(
                "CreateKey",
                r -> Set.of(Scope.tenant(r.getTenantId(), r.getServiceId())),
                s::createKey))
        .method(
            "GetKey",
            GetKeyRequest.getDefaultInstance(),
            GetKeyResponse.getDefaultInstance(),
            g.check(
                "GetKey", r -> Set.of(Scope.tenant(r.getTenantId(), r.getServiceId())), s::getKey))
        .method(
            "DestroyKey",
            DestroyKeyRequest.getDefaultInstance(),
            DestroyKeyResponse.getDefaultInstance(),
            g.check(
                "DestroyKey",
                r -> Set.of(Scope.tenant(r.getTenantId(), r.getServiceId())),
                s::destroyKey))
        .method(
            "DestroyBySubject",
            DestroyBySubjectRequest.getDefaultInstance(),
            DestroyBySubjectResponse.getDefaultInstance(),
            g.check(
                "DestroyBySubject",
                r -> Set.of(Scope.tenant(r.getTenantId(), r.getServiceId())),
                s::destroyBySubject))
        .build();
  }

  /**
   * The service named in an envelope's header, or "" when it does not parse (the call then fails on
   * it).
   */
  private static String serviceOf(ByteString envelope) {
    try {
      return EnvelopeCodec.decode(envelope.toByteArray()).header().serviceId();
    } catch (EnvelopeException | RuntimeException e) {
      return "";
    }
  }

  private static Set<Scope> scopes(DecryptBatchRequest r) {
    return scopes(r.getTenantId(), r.getItemsList());
  }

  private static Set<Scope> scopes(String tenantId, List<DecryptItem> items) {
    Set<Scope> out = new LinkedHashSet<>();
    for (DecryptItem item : items) {
      out.add(Scope.tenant(tenantId, serviceOf(item.getEnvelope())));
    }
    return out;
  }

  /**
   * Wraps a method in the {@link Guard}: it runs only when every scope of its request is allowed
   * for the caller the {@link PeerInterceptor} verified; with {@code audit}, each call leaves one
   * record ({@link CallAudit}).
   */
  private record Checked(Guard guard, boolean audit) {
    <Q, R> Function<Q, CompletionStage<R>> check(
        String action, Function<Q, Set<Scope>> scopes, Function<Q, CompletionStage<R>> call) {
      if (guard.authz().isEmpty() && !audit) {
        return call;
      }
      return request -> {
        SpiffeId caller = PeerInterceptor.PEER.get(); // the call's context: read it here
        // once per call: an envelope's header is parsed for the guard and the record alike
        Set<Scope> touched = scopes.apply(request);
        Supplier<CompletionStage<R>> run =
            guard.authz().isEmpty()
                ? () -> call.apply(request)
                : () ->
                    guard.call(
                        Optional.ofNullable(caller),
                        action,
                        touched,
                        "",
                        () -> call.apply(request));
        return audit
            ? CallAudit.recorded(
                action, (com.google.protobuf.Message) request, touched, caller, run)
            : run.get();
      };
    }
  }

  /** Without authorization (plaintext listeners, the benchmark's baseline). */
  public static ServerServiceDefinition definition(DataKeyService s) {
    return definition(s, Optional.empty());
  }
}
