package org.openkcm.core.api;

import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.stream.javadsl.Source;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.node.authz.Authorizer;
import org.openkcm.node.authz.Authorizer.Resource;
import org.openkcm.node.authz.Guard;
import org.openkcm.protocol.core.v1.CoreKeyService;
import org.openkcm.protocol.core.v1.CoreKeyServicePowerApi;
import org.openkcm.protocol.core.v1.RewrapKeysRequest;
import org.openkcm.protocol.core.v1.RewrapKeysResponse;
import org.openkcm.protocol.core.v1.TenantEvent;
import org.openkcm.protocol.core.v1.UnwrapKeysRequest;
import org.openkcm.protocol.core.v1.UnwrapKeysResponse;
import org.openkcm.protocol.core.v1.WatchTenantEventsRequest;
import org.openkcm.protocol.core.v1.WrapKeysRequest;
import org.openkcm.protocol.core.v1.WrapKeysResponse;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * {@link CoreKeyService} behind the authorization policy: each call is allowed or refused
 * (PERMISSION_DENIED) for the caller's verified identity ({@link PeerIdentity}) before it reaches a
 * tenant. Without an authorizer (plaintext listener, development only) calls pass unchecked.
 */
public final class AuthorizedCoreKeyService implements CoreKeyServicePowerApi {

  private final CoreKeyServiceImpl service;
  private final Optional<Authorizer> authz;
  private final boolean auditKeyOperations;

  public AuthorizedCoreKeyService(
      CoreKeyServiceImpl service, Optional<Authorizer> authz, boolean auditKeyOperations) {
    this.service = service;
    this.authz = authz;
    this.auditKeyOperations = auditKeyOperations;
  }

  /**
   * One audit record per key request (not per key): what, for whom, how many keys, who asked, how
   * it ended.
   */
  private <T> CompletionStage<T> audited(
      String event,
      String tenant,
      String serviceId,
      int count,
      String cid,
      Metadata md,
      CompletionStage<T> call) {
    if (!auditKeyOperations) {
      return call;
    }
    // The record is made off the answering thread, in batches (AuditLog.recordLater): the answer
    // does not wait for its JSON, log line and hand-over to the trail.
    call.whenComplete(
        (ok, failure) ->
            AuditLog.recordLater(
                event,
                "tenant",
                tenant,
                "service",
                serviceId,
                "count",
                count,
                "caller",
                // read from the (immutable) headers by the audit thread, not the answering one
                (Supplier<String>) () -> PeerIdentity.of(md).map(Object::toString).orElse("none"),
                "cid",
                cid,
                "outcome",
                failure == null ? "ok" : GrpcErrors.fromGrpc(failure).reason().name()));
    return call;
  }

  @Override
  public CompletionStage<WrapKeysResponse> wrapKeys(WrapKeysRequest in, Metadata md) {
    return checked(
        md,
        "WrapKeys",
        Resource.tenant(in.getTenantId()),
        in.getServiceId(),
        in.getCorrelationId(),
        () ->
            audited(
                "keys.wrap",
                in.getTenantId(),
                in.getServiceId(),
                in.getItemsCount(),
                in.getCorrelationId(),
                md,
                service.wrapKeys(in)));
  }

  @Override
  public CompletionStage<UnwrapKeysResponse> unwrapKeys(UnwrapKeysRequest in, Metadata md) {
    return checked(
        md,
        "UnwrapKeys",
        Resource.tenant(in.getTenantId()),
        "",
        in.getCorrelationId(),
        () ->
            audited(
                "keys.unwrap",
                in.getTenantId(),
                "",
                in.getItemsCount(),
                in.getCorrelationId(),
                md,
                service.unwrapKeys(in)));
  }

  @Override
  public CompletionStage<RewrapKeysResponse> rewrapKeys(RewrapKeysRequest in, Metadata md) {
    return checked(
        md,
        "RewrapKeys",
        Resource.tenant(in.getTenantId()),
        "",
        in.getCorrelationId(),
        () ->
            audited(
                "keys.rewrap",
                in.getTenantId(),
                "",
                in.getItemsCount(),
                in.getCorrelationId(),
                md,
                service.rewrapKeys(in)));
  }

  @Override
  public Source<TenantEvent, NotUsed> watchTenantEvents(WatchTenantEventsRequest in, Metadata md) {
    try {
      authz.ifPresent(
          a -> a.require(PeerIdentity.of(md), "WatchTenantEvents", Resource.tenant("*"), "", ""));
    } catch (OpenKcmException e) {
      return Source.failed(GrpcErrors.toGrpc(e));
    }
    // a gateway hears only of the tenants assigned to it (and of the kill-switches)
    java.util.function.Predicate<String> serves =
        authz.isEmpty()
            ? t -> true
            : PeerIdentity.of(md)
                .map(id -> authz.get().assignments().tenantsOf(id.name()))
                .<java.util.function.Predicate<String>>map(
                    set ->
                        set.contains(org.openkcm.node.authz.Assignments.EVERY_TENANT)
                            ? t -> true
                            : set::contains)
                .orElse(t -> false);
    return service.watchTenantEvents(in, serves);
  }

  /**
   * Each request of the stream is judged like a unary WrapKeys; a refusal answers {@code failure}.
   */
  @Override
  public Source<WrapKeysResponse, NotUsed> wrapStream(
      Source<WrapKeysRequest, NotUsed> in, Metadata md) {
    return in.mapAsyncUnordered(
        CoreKeyServiceImpl.STREAM_PARALLELISM,
        r -> CoreKeyServiceImpl.streamed(r, wrapKeys(r, md)));
  }

  /**
   * Each request of the stream is judged like a unary UnwrapKeys; a refusal answers {@code
   * failure}.
   */
  @Override
  public Source<UnwrapKeysResponse, NotUsed> unwrapStream(
      Source<UnwrapKeysRequest, NotUsed> in, Metadata md) {
    return in.mapAsyncUnordered(
        CoreKeyServiceImpl.STREAM_PARALLELISM,
        r -> CoreKeyServiceImpl.streamed(r, unwrapKeys(r, md)));
  }

  /**
   * Runs {@code call} when the caller may do {@code action}; otherwise a failed PERMISSION_DENIED
   * stage.
   */
  static <T> CompletionStage<T> checked(
      Optional<Authorizer> authz,
      Metadata md,
      String action,
      Resource resource,
      String service,
      String cid,
      Supplier<CompletionStage<T>> call) {
    return new Guard(authz)
        .call(PeerIdentity.of(md), action, new Guard.Scope(resource, service), cid, call);
  }

  private <T> CompletionStage<T> checked(
      Metadata md,
      String action,
      Resource resource,
      String service,
      String cid,
      Supplier<CompletionStage<T>> call) {
    return checked(authz, md, action, resource, service, cid, call);
  }
}
