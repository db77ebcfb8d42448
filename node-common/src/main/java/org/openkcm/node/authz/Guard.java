package org.openkcm.node.authz;

import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * The one authorization decorator of both nodes: a call runs only when its verified caller may do
 * its action on every scope it touches; otherwise it ends as a failed stage with PERMISSION_DENIED
 * (a gRPC status, as every other error of the edge). Each node reads the caller from its own
 * transport (the Core from the request metadata, the gateway from its interceptor) and names the
 * scopes of each method; the decision and its audit record are the {@link Authorizer}'s.
 *
 * <p>Without an authorizer (plaintext listeners: tests and development only, refused in prod by the
 * profile guard) calls pass unchecked.
 */
public record Guard(Optional<Authorizer> authz) {

  /** One resource a request touches, for one service ("" when none). */
  public record Scope(Authorizer.Resource resource, String service) {
    public static Scope tenant(String tenantId, String serviceId) {
      return new Scope(Authorizer.Resource.tenant(tenantId), serviceId);
    }
  }

  public static final Guard OPEN = new Guard(Optional.empty());

  /** Runs {@code call} when {@code caller} may do {@code action} on {@code scope}. */
  public <T> CompletionStage<T> call(
      Optional<SpiffeId> caller,
      String action,
      Scope scope,
      String correlationId,
      Supplier<CompletionStage<T>> call) {
    return call(caller, action, List.of(scope), correlationId, call);
  }

  /** Runs {@code call} when {@code caller} may do {@code action} on every one of {@code scopes}. */
  public <T> CompletionStage<T> call(
      Optional<SpiffeId> caller,
      String action,
      Collection<Scope> scopes,
      String correlationId,
      Supplier<CompletionStage<T>> call) {
    try {
      require(caller, action, scopes, correlationId);
    } catch (OpenKcmException e) {
      return CompletableFuture.failedFuture(GrpcErrors.toGrpc(e));
    }
    return call.get();
  }

  /**
   * Returns normally when allowed; throws PERMISSION_DENIED otherwise (for streams, which answer
   * their own way).
   */
  public void require(
      Optional<SpiffeId> caller, String action, Collection<Scope> scopes, String correlationId) {
    if (authz.isEmpty()) {
      return;
    }
    if (scopes.isEmpty()) {
      // a call that names nothing it touches (an empty batch) is decided by nothing: denied, so
      // that
      // no method runs unchecked because its request listed no item
      throw new OpenKcmException(
          org.openkcm.protocol.error.ErrorReason.PERMISSION_DENIED,
          action + " names no tenant or service to authorize");
    }
    for (Scope scope : scopes) {
      authz.get().require(caller, action, scope.resource(), scope.service(), correlationId);
    }
  }
}
