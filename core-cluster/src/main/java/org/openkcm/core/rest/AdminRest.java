package org.openkcm.core.rest;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Message;
import com.google.protobuf.util.JsonFormat;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.grpc.javadsl.MetadataBuilder;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.stream.Materializer;
import org.openkcm.core.api.PeerIdentity;
import org.openkcm.protocol.admin.v1.AdminServicePowerApi;
import org.openkcm.protocol.admin.v1.CheckL1Request;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.KillSwitchRequest;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.admin.v1.ReviveTenantRequest;
import org.openkcm.protocol.admin.v1.SealRequest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * The governance API as REST/JSON under {@code /v1/} on the Core's admin listener: each route is a
 * call of the (authorized, audited) {@link AdminServicePowerApi} as the caller mTLS verified, so
 * REST and gRPC share identities, Cedar policies and audit. Bodies and answers are the admin
 * messages in protobuf's JSON mapping (camelCase fields); errors are RFC 9457 problems. The routes
 * are listed in {@link #ROUTES}; {@code /v1/openapi.json} documents exactly those.
 */
public final class AdminRest {

  /** One route: method, path template ({@code {tenant}} is a path parameter), operation id. */
  public record RouteSpec(String method, String path, String operationId) {}

  public static final List<RouteSpec> ROUTES =
      List.of(
          new RouteSpec("GET", "/v1/openapi.json", "openApi"),
          new RouteSpec("GET", "/v1/tenants", "listTenants"),
          new RouteSpec("POST", "/v1/tenants", "createTenant"),
          new RouteSpec("GET", "/v1/tenants/{tenant}", "getTenant"),
          new RouteSpec("POST", "/v1/tenants/{tenant}/services", "createService"),
          new RouteSpec("POST", "/v1/tenants/{tenant}/check-l1", "checkL1"),
          new RouteSpec("POST", "/v1/tenants/{tenant}/kill", "killTenant"),
          new RouteSpec("POST", "/v1/tenants/{tenant}/revive", "reviveTenant"),
          new RouteSpec("GET", "/v1/tenants/{tenant}/audit", "tenantAudit"),
          new RouteSpec("POST", "/v1/tenants/{tenant}/rotate", "rotateServiceKey"),
          new RouteSpec("POST", "/v1/tenants/{tenant}/rotate-l2", "rotateTenantKey"),
          new RouteSpec("POST", "/v1/tenants/{tenant}/retire", "retireServiceKeys"),
          new RouteSpec("POST", "/v1/tenants/{tenant}/offboard", "offboardTenant"),
          new RouteSpec("POST", "/v1/tenants/{tenant}/l1-link", "requestL1Link"),
          new RouteSpec("POST", "/v1/tenants/{tenant}/l1-link/approve", "approveL1Link"),
          new RouteSpec("POST", "/v1/kill-switch/engage", "engageKillSwitch"),
          new RouteSpec("POST", "/v1/kill-switch/release", "releaseKillSwitch"),
          new RouteSpec("GET", "/v1/kill-switch", "getKillSwitch"),
          new RouteSpec("GET", "/v1/seal", "sealStatus"),
          new RouteSpec("POST", "/v1/console/tokens", "consoleToken"));

  private static final long MAX_BODY = 64 * 1024;
  private static final JsonFormat.Printer PRINTER =
      JsonFormat.printer().includingDefaultValueFields().omittingInsignificantWhitespace();
  private static final JsonFormat.Parser PARSER = JsonFormat.parser();

  private final AdminServicePowerApi admin;
  private final Materializer materializer;
  private final byte[] openApi;
  private final org.openkcm.core.console.ConsoleSessions sessions;
  private final CompletionStage<java.util.Optional<String>> consoleUrl;
  private final java.util.function.Supplier<CompletionStage<List<String>>> tenantIds;
  private final TenantAuditRoute audit;

  public AdminRest(
      ActorSystem<?> system,
      AdminServicePowerApi admin,
      org.openkcm.core.console.ConsoleSessions sessions,
      CompletionStage<java.util.Optional<String>> consoleUrl) {
    this.admin = admin;
    this.sessions = sessions;
    this.consoleUrl = consoleUrl;
    this.materializer = Materializer.matFromSystem(system);
    this.audit =
        new TenantAuditRoute(
            admin,
            system.settings().config(),
            system
                .dispatchers()
                .lookup(org.apache.pekko.actor.typed.DispatcherSelector.blocking()));
    this.tenantIds =
        () ->
            org.apache.pekko.persistence.query.PersistenceQuery.get(system)
                .getReadJournalFor(
                    org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal.class,
                    org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal.Identifier())
                .currentPersistenceIds()
                .filter(
                    id ->
                        id.startsWith(org.openkcm.core.tenant.TenantEntity.ENTITY_KEY.name() + "|"))
                .map(
                    id ->
                        id.substring(
                            org.openkcm.core.tenant.TenantEntity.ENTITY_KEY.name().length() + 1))
                .runWith(org.apache.pekko.stream.javadsl.Sink.seq(), materializer);
    try (InputStream in = AdminRest.class.getResourceAsStream("/openkcm/openapi.json")) {
      this.openApi = in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Whether {@code request} is for this API (anything under /v1/). */
  public static boolean handles(HttpRequest request) {
    return request.getUri().path().startsWith("/v1/");
  }

  public CompletionStage<HttpResponse> handle(HttpRequest request) {
    String path = request.getUri().path();
    String[] seg = path.substring(1).split("/", -1);
    boolean get = request.method().equals(HttpMethods.GET);
    boolean post = request.method().equals(HttpMethods.POST);
    Metadata md = metadata(request);
    java.util.Optional<HttpResponse> refused = WriteOrigin.refused(request, get);
    if (refused.isPresent()) {
      return done(refused.get());
    }
    try {
      if (seg.length == 2 && seg[1].equals("openapi.json") && get) {
        return done(HttpResponse.create().withEntity(ContentTypes.APPLICATION_JSON, openApi));
      }
      if (seg.length == 2 && seg[1].equals("kill-switch") && get) {
        String scope = request.getUri().query().get("scope").orElse("global");
        return answer(
            admin.getKillSwitch(KillSwitchRequest.newBuilder().setScope(scope).build(), md), 200);
      }
      if (seg.length == 2 && seg[1].equals("seal") && get) {
        return answer(admin.sealStatus(SealRequest.getDefaultInstance(), md), 200);
      }
      if (seg.length == 3 && seg[1].equals("kill-switch") && post) {
        if (seg[2].equals("engage")) {
          return body(
              request,
              KillSwitchRequest.newBuilder(),
              (b, x) -> admin.engageKillSwitch(b.build(), md),
              200);
        }
        if (seg[2].equals("release")) {
          return body(
              request,
              KillSwitchRequest.newBuilder(),
              (b, x) -> admin.releaseKillSwitch(b.build(), md),
              200);
        }
      }
      if (seg.length == 2 && seg[1].equals("tenants") && get) {
        return list(request, md);
      }
      if (seg.length == 5
          && seg[1].equals("tenants")
          && seg[3].equals("l1-link")
          && seg[4].equals("approve")
          && post) {
        String tenant = seg[2];
        return body(
            request,
            org.openkcm.protocol.admin.v1.ApproveL1LinkRequest.newBuilder(),
            (b, x) -> admin.approveL1Link(b.setTenantId(tenant).build(), md),
            200);
      }
      if (seg.length == 3 && seg[1].equals("console") && seg[2].equals("tokens") && post) {
        return consoleToken(md);
      }
      if (seg.length == 2 && seg[1].equals("tenants") && post) {
        return body(
            request,
            CreateTenantRequest.newBuilder(),
            (b, x) -> admin.createTenant(b.build(), md),
            201);
      }
      if (seg.length >= 3 && seg[1].equals("tenants")) {
        String tenant = seg[2];
        if (seg.length == 3 && get) {
          return answer(
              admin.getTenant(GetTenantRequest.newBuilder().setTenantId(tenant).build(), md), 200);
        }
        if (seg.length == 4 && seg[3].equals("audit") && get) {
          return audit.answer(tenant, request, md);
        }
        if (seg.length == 4 && post) {
          switch (seg[3]) {
            case "services":
              return body(
                  request,
                  CreateServiceRequest.newBuilder(),
                  (b, x) -> admin.createService(b.setTenantId(tenant).build(), md),
                  201);
            case "check-l1":
              return answer(
                  admin.checkL1(CheckL1Request.newBuilder().setTenantId(tenant).build(), md), 200);
            case "kill":
              return body(
                  request,
                  KillTenantRequest.newBuilder(),
                  (b, x) -> admin.killTenant(b.setTenantId(tenant).build(), md),
                  200);
            case "revive":
              return body(
                  request,
                  ReviveTenantRequest.newBuilder(),
                  (b, x) -> admin.reviveTenant(b.setTenantId(tenant).build(), md),
                  200);
            case "rotate":
              return body(
                  request,
                  org.openkcm.protocol.admin.v1.RotateKeyRequest.newBuilder(),
                  (b, x) -> admin.rotateServiceKey(b.setTenantId(tenant).build(), md),
                  200);
            case "rotate-l2":
              return body(
                  request,
                  org.openkcm.protocol.admin.v1.RotateKeyRequest.newBuilder(),
                  (b, x) -> admin.rotateTenantKey(b.setTenantId(tenant).build(), md),
                  200);
            case "retire":
              return body(
                  request,
                  org.openkcm.protocol.admin.v1.RetireKeysRequest.newBuilder(),
                  (b, x) -> admin.retireServiceKeys(b.setTenantId(tenant).build(), md),
                  200);
            case "offboard":
              return body(
                  request,
                  org.openkcm.protocol.admin.v1.OffboardTenantRequest.newBuilder(),
                  (b, x) -> admin.offboardTenant(b.setTenantId(tenant).build(), md),
                  200);
            case "l1-link":
              return body(
                  request,
                  org.openkcm.protocol.admin.v1.LinkL1Request.newBuilder(),
                  (b, x) -> admin.requestL1Link(b.setTenantId(tenant).build(), md),
                  200);
            default:
              break;
          }
        }
      }
      return done(
          Problem.of(
              404,
              ErrorReason.INVALID_ARGUMENT,
              "no route " + request.method().name() + " " + path + " (see /v1/openapi.json)"));
    } catch (OpenKcmException e) {
      return done(Problem.of(e));
    }
  }

  static HttpResponse json(String body) {
    return HttpResponse.create()
        .withEntity(ContentTypes.APPLICATION_JSON, body.getBytes(StandardCharsets.UTF_8));
  }

  /**
   * A page of tenants ({@code offset}, {@code limit} ≤ 100, by id): the journal's tenant ids, each
   * read through the authorized admin service (a tenant the caller may not read is left out).
   */
  private CompletionStage<HttpResponse> list(HttpRequest request, Metadata md) {
    int offset;
    int limit;
    try {
      offset = Integer.parseInt(request.getUri().query().get("offset").orElse("0"));
      limit = Integer.parseInt(request.getUri().query().get("limit").orElse("50"));
    } catch (NumberFormatException e) {
      return done(Problem.of(ErrorReason.INVALID_ARGUMENT, "offset and limit are whole numbers"));
    }
    if (offset < 0 || limit < 1 || limit > 100) {
      return done(Problem.of(ErrorReason.INVALID_ARGUMENT, "offset >= 0 and limit 1..100"));
    }
    return tenantIds
        .get()
        .thenCompose(
            ids -> {
              List<String> page = ids.stream().sorted().skip(offset).limit(limit).toList();
              List<CompletableFuture<String>> reads = new java.util.ArrayList<>();
              for (String id : page) {
                reads.add(
                    admin
                        .getTenant(GetTenantRequest.newBuilder().setTenantId(id).build(), md)
                        .handle(
                            (t, failure) -> {
                              try {
                                return failure == null ? PRINTER.print(t) : null;
                              } catch (InvalidProtocolBufferException e) {
                                return null;
                              }
                            })
                        .toCompletableFuture());
              }
              return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new))
                  .thenApply(
                      v -> {
                        StringBuilder b = new StringBuilder("{\"tenants\":[");
                        boolean first = true;
                        for (CompletableFuture<String> r : reads) {
                          String t = r.join();
                          if (t != null) {
                            b.append(first ? "" : ",").append(t);
                            first = false;
                          }
                        }
                        b.append("],\"offset\":")
                            .append(offset)
                            .append(",\"limit\":")
                            .append(limit)
                            .append(",\"total\":")
                            .append(ids.size())
                            .append("}");
                        return HttpResponse.create()
                            .withEntity(
                                ContentTypes.APPLICATION_JSON,
                                b.toString().getBytes(StandardCharsets.UTF_8));
                      });
            });
  }

  /**
   * A one-time console sign-in URL for the calling admin identity (only an {@code admin/}
   * certificate may ask).
   */
  private CompletionStage<HttpResponse> consoleToken(Metadata md) {
    java.util.Optional<org.openkcm.node.tls.SpiffeId> caller = PeerIdentity.of(md);
    if (caller.isEmpty() || !caller.get().kind().equals("admin")) {
      return done(
          Problem.of(
              ErrorReason.PERMISSION_DENIED,
              "a console sign-in URL is issued to an admin certificate identity only"));
    }
    // only to an admin holding a role: every role may read the seal's status (decided by the
    // policies and audited as that identity); an admin certificate without a role gets nothing
    return admin
        .sealStatus(SealRequest.getDefaultInstance(), md)
        .handle((status, failure) -> failure)
        .thenCompose(
            failure ->
                failure == null
                    ? issueConsoleToken(caller.get())
                    : done(
                        GrpcErrors.fromGrpc(failure).reason() == ErrorReason.PERMISSION_DENIED
                            ? Problem.of(
                                ErrorReason.PERMISSION_DENIED,
                                caller.get().uri()
                                    + " holds no admin role (operator, security-officer): no"
                                    + " console session")
                            : Problem.of(GrpcErrors.fromGrpc(failure))));
  }

  private CompletionStage<HttpResponse> issueConsoleToken(org.openkcm.node.tls.SpiffeId caller) {
    return consoleUrl.thenApply(
        url -> {
          if (url.isEmpty()) {
            return Problem.of(
                ErrorReason.INVALID_ARGUMENT,
                "the console is off on this node (openkcm.console.enabled)");
          }
          String token = sessions.issue(caller);
          org.openkcm.node.audit.AuditLog.record("console.sign-in-url", "by", caller.uri());
          String body =
              "{\"url\":\""
                  + url.get()
                  + "/console/login?token="
                  + token
                  + "\",\"identity\":\""
                  + caller.uri()
                  + "\",\"expiresInSeconds\":"
                  + sessions.tokenTtl().toSeconds()
                  + "}";
          return HttpResponse.create()
              .withStatus(201)
              .withEntity(ContentTypes.APPLICATION_JSON, body.getBytes(StandardCharsets.UTF_8));
        });
  }

  /** The caller as the listener stamped it from the TLS session (never from the client). */
  private static Metadata metadata(HttpRequest request) {
    MetadataBuilder b = new MetadataBuilder();
    request
        .getHeader(PeerIdentity.HEADER)
        .ifPresent(h -> b.addText(PeerIdentity.HEADER, h.value()));
    return b.build();
  }

  /**
   * Reads the JSON body into {@code builder} (strictly: unknown fields are refused), then calls.
   */
  private <B extends Message.Builder> CompletionStage<HttpResponse> body(
      HttpRequest request,
      B builder,
      BiFunction<B, Void, CompletionStage<? extends Message>> call,
      int status) {
    return request
        .entity()
        .withSizeLimit(MAX_BODY)
        .toStrict(Duration.ofSeconds(10).toMillis(), materializer)
        .thenCompose(
            strict -> {
              String text = strict.getData().utf8String();
              try {
                if (!text.isBlank()) {
                  PARSER.merge(text, builder);
                }
              } catch (InvalidProtocolBufferException e) {
                return done(
                    Problem.of(
                        ErrorReason.INVALID_ARGUMENT,
                        "the JSON body does not fit: " + e.getMessage()));
              }
              return answer(call.apply(builder, null), status);
            })
        .exceptionally(
            failure ->
                Problem.of(
                    ErrorReason.INVALID_ARGUMENT,
                    "the request body could not be read (at most " + MAX_BODY + " bytes of JSON)"));
  }

  private static CompletionStage<HttpResponse> answer(
      CompletionStage<? extends Message> call, int status) {
    return call.handle(
        (reply, failure) -> {
          if (failure != null) {
            return Problem.of(GrpcErrors.fromGrpc(failure));
          }
          try {
            return HttpResponse.create()
                .withStatus(status)
                .withEntity(
                    ContentTypes.APPLICATION_JSON,
                    PRINTER.print(reply).getBytes(StandardCharsets.UTF_8));
          } catch (InvalidProtocolBufferException e) {
            return Problem.of(ErrorReason.INTERNAL, "answer not printable as JSON");
          }
        });
  }

  private static CompletionStage<HttpResponse> done(HttpResponse r) {
    return CompletableFuture.completedFuture(r);
  }

  /** {@code grpc} for gRPC requests, this API for /v1/. */
  public org.apache.pekko.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>> before(
      org.apache.pekko.japi.function.Function<HttpRequest, CompletionStage<HttpResponse>> grpc) {
    return request -> handles(request) ? handle(request) : grpc.apply(request);
  }
}
