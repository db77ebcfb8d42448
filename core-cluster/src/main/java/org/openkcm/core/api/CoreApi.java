package org.openkcm.core.api;

import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import javax.net.ssl.SSLContext;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.grpc.javadsl.ServiceHandler;
import org.apache.pekko.http.javadsl.ConnectionContext;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.ServerBuilder;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.japi.function.Function;
import org.openkcm.core.killswitch.KillSwitches;
import org.openkcm.core.seal.SealService;
import org.openkcm.core.tenant.TenantEvents;
import org.openkcm.node.authz.Authorizer;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.protocol.admin.v1.AdminServicePowerApiHandlerFactory;
import org.openkcm.protocol.core.v1.CoreKeyServicePowerApiHandlerFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Core's gRPC edge: CoreKeyService and AdminService behind authorization, on one mTLS listener.
 */
public final class CoreApi {

  /** Who may open a connection to the Core's listener (what each may do is decided per call). */
  public static final Set<String> CALLER_KINDS = Set.of("gateway", "admin", "core");

  private static final Logger log = LoggerFactory.getLogger(CoreApi.class);

  private CoreApi() {}

  /** The request handler of both services, each call judged by {@code authz} when there is one. */
  @SuppressWarnings("unchecked")
  /** The gRPC request handler and the authorized admin service (for the REST API and console). */
  public record Handlers(
      Function<HttpRequest, CompletionStage<HttpResponse>> grpc,
      org.openkcm.protocol.admin.v1.AdminServicePowerApi admin,
      org.openkcm.protocol.core.v1.CoreKeyServicePowerApi keys) {}

  public static Handlers handler(
      ActorSystem<?> system,
      Duration askTimeout,
      String region,
      KillSwitches killSwitches,
      SealService seal,
      ActorRef<Topic.Command<TenantEvents.StatusChanged>> tenantEvents,
      Optional<Authorizer> authz,
      Optional<org.openkcm.node.tls.MutualTls> tls) {
    AuthorizedAdminService admin =
        new AuthorizedAdminService(
            new AdminServiceImpl(system, askTimeout, killSwitches.singleton(), region, seal),
            authz,
            Optional.of(new HomeForwarder(system, tls, askTimeout)),
            org.openkcm.core.cluster.PeerRegions.from(system.settings().config()),
            new SealMigrationGate(
                system.settings().config().getBoolean("openkcm.core.seal.migration"),
                system.settings().config().getDuration("openkcm.core.seal.migration-window"),
                java.time.Clock.systemUTC()));
    AuthorizedCoreKeyService keys =
        new AuthorizedCoreKeyService(
            new CoreKeyServiceImpl(
                system, askTimeout, tenantEvents, killSwitches.topic(), killSwitches.watcher()),
            authz,
            system.settings().config().getBoolean("openkcm.audit.key-operations"));
    Function<HttpRequest, CompletionStage<HttpResponse>> grpc =
        ServiceHandler.concatOrNotFound(
            CoreKeyServicePowerApiHandlerFactory.create(keys, system),
            AdminServicePowerApiHandlerFactory.create(admin, system));
    return new Handlers(grpc, admin, keys);
  }

  /**
   * Once this node's coordinated shutdown began (it is leaving: its shards are handing off), a new
   * request is answered at once with HTTP 503, which gRPC clients read as UNAVAILABLE: the gateway
   * then sends it to another Core node instead of waiting on one that is going away. Requests
   * already accepted finish (the listener drains them before sharding stops).
   */
  static Function<HttpRequest, CompletionStage<HttpResponse>> refuseWhileStopping(
      ActorSystem<?> system,
      org.openkcm.node.health.NodeHealth health,
      Function<HttpRequest, CompletionStage<HttpResponse>> handler) {
    return request -> {
      if (health.stopping()) {
        request.discardEntityBytes(system);
        return java.util.concurrent.CompletableFuture.completedFuture(
            HttpResponse.create()
                .withStatus(org.apache.pekko.http.javadsl.model.StatusCodes.SERVICE_UNAVAILABLE)
                .addHeader(
                    org.apache.pekko.http.javadsl.model.headers.RawHeader.create(
                        "grpc-message", "this Core node is shutting down; use another")));
      }
      return handler.apply(request);
    };
  }

  /** "/<full service name>/<method>" of every method this listener serves → its label. */
  private static final java.util.Map<String, String> METHODS = methods();

  private static java.util.Map<String, String> methods() {
    java.util.Map<String, String> m = new java.util.HashMap<>();
    for (var file :
        java.util.List.of(
            org.openkcm.protocol.core.v1.CoreKeysProto.getDescriptor(),
            org.openkcm.protocol.admin.v1.AdminProto.getDescriptor())) {
      for (var service : file.getServices()) {
        for (var method : service.getMethods()) {
          m.put("/" + service.getFullName() + "/" + method.getName(), method.getName());
        }
      }
    }
    return java.util.Map.copyOf(m);
  }

  /**
   * Times every request of the Core's listener into {@code openkcm_rpc_duration_seconds}: the gRPC
   * methods of our services by bare name, the REST API as "REST", anything else as "other" (no path
   * a caller chooses reaches a label); outcome is the gRPC status of a trailers-only answer,
   * "HTTP_nnn" for a REST error, else "OK".
   */
  static Function<HttpRequest, CompletionStage<HttpResponse>> timed(
      org.openkcm.node.metrics.NodeMetrics metrics,
      Function<HttpRequest, CompletionStage<HttpResponse>> handler) {
    return request -> {
      long start = System.nanoTime();
      String path = request.getUri().path();
      // only the methods we serve become labels: a caller cannot mint series with made-up paths
      String method = METHODS.getOrDefault(path, path.startsWith("/v1/") ? "REST" : "other");
      return handler
          .apply(request)
          .whenComplete(
              (response, failure) ->
                  metrics
                      .rpc
                      .labelValues(method, outcome(response, failure))
                      .observe((System.nanoTime() - start) / 1e9));
    };
  }

  private static String outcome(HttpResponse response, Throwable failure) {
    if (failure != null || response == null) {
      return "INTERNAL";
    }
    Optional<String> grpc = response.getHeader("grpc-status").map(h -> h.value());
    if (grpc.isPresent()) {
      try {
        return io.grpc.Status.fromCodeValue(Integer.parseInt(grpc.get())).getCode().name();
      } catch (NumberFormatException e) {
        return "UNKNOWN";
      }
    }
    int status = response.status().intValue();
    return status >= 400 ? "HTTP_" + status : "OK";
  }

  /**
   * Binds {@code handler} at {@code host:port} (mTLS when {@code tls} is present) until the system
   * stops.
   */
  public static CompletionStage<ServerBinding> bind(
      ActorSystem<?> system,
      String host,
      int port,
      Optional<MutualTls> tls,
      Function<HttpRequest, CompletionStage<HttpResponse>> handler) {
    ServerBuilder server = Http.get(system).newServerAt(host, port);
    if (tls.isPresent()) {
      SSLContext ctx = tls.get().sslContext(CALLER_KINDS);
      server = server.enableHttps(ConnectionContext.httpsServer(() -> tls.get().serverEngine(ctx)));
    }
    return server
        .bind(
            PeerIdentity.stamp(
                timed(
                    org.openkcm.node.metrics.NodeMetrics.get(system),
                    refuseWhileStopping(
                        system, org.openkcm.node.health.NodeHealth.get(system), handler))))
        .thenApply(
            binding -> {
              binding.addToCoordinatedShutdown(Duration.ofSeconds(3), system);
              log.info(
                  "Core gRPC (CoreKeyService, AdminService) listening on {} ({})",
                  binding.localAddress(),
                  tls.map(
                          t ->
                              "mTLS "
                                  + t.settings().protocols()
                                  + " as "
                                  + t.identity()
                                  + ", accepting "
                                  + CALLER_KINDS)
                      .orElse("PLAINTEXT"));
              return binding;
            });
  }
}
