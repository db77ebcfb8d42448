package org.openkcm.core.console;

import static org.openkcm.core.console.Html.esc;

import com.typesafe.config.Config;
import java.net.InetAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.grpc.javadsl.MetadataBuilder;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.stream.Materializer;
import org.openkcm.core.api.PeerIdentity;
import org.openkcm.core.tenant.TenantEntity;
import org.openkcm.protocol.admin.v1.AdminServicePowerApi;
import org.openkcm.protocol.admin.v1.CheckL1Request;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.KillSwitchRequest;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.admin.v1.ReviveTenantRequest;
import org.openkcm.protocol.admin.v1.TenantInfo;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The web console ({@code openkcm.console}): plain server-rendered pages on their own listener
 * (loopback only: browsers carry no client certificates). A browser signs in with a one-time URL
 * that {@code ./openkcm admin console} obtains over mTLS; every action then calls the authorized,
 * audited admin service as that identity. Forms carry a per-session token; the session cookie is
 * HttpOnly and SameSite=Strict.
 */
public final class Console {

  private static final Logger log = LoggerFactory.getLogger(Console.class);
  private static final String COOKIE = "okcm_session";

  private final ActorSystem<?> system;
  private final AdminServicePowerApi admin;
  private final ConsoleSessions sessions;
  private final AuditPage auditPage;
  private final Materializer materializer;

  private Console(ActorSystem<?> system, AdminServicePowerApi admin, ConsoleSessions sessions) {
    this.system = system;
    this.admin = admin;
    this.sessions = sessions;
    this.auditPage = new AuditPage(system.settings().config());
    this.materializer = Materializer.matFromSystem(system);
  }

  /** Binds the console when {@code openkcm.console.enabled}; completes with its base URL. */
  public static CompletionStage<Optional<String>> start(
      ActorSystem<?> system, AdminServicePowerApi admin, ConsoleSessions sessions) {
    Config c = system.settings().config().getConfig("openkcm.console");
    if (!c.getBoolean("enabled")) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    String host = c.getString("host");
    try {
      if (!InetAddress.getByName(host).isLoopbackAddress()) {
        throw new IllegalArgumentException(
            "openkcm.console.host must be a loopback address (the console has no TLS of its own;"
                + " reach it through an SSH tunnel or a TLS-terminating proxy), was "
                + host);
      }
    } catch (java.net.UnknownHostException e) {
      throw new IllegalArgumentException("openkcm.console.host: unknown host " + host, e);
    }
    Console console = new Console(system, admin, sessions);
    return Http.get(system)
        .newServerAt(host, c.getInt("port"))
        .bind(console::handle)
        .thenApply(
            (ServerBinding b) -> {
              b.addToCoordinatedShutdown(Duration.ofSeconds(3), system);
              String url =
                  "http://" + b.localAddress().getHostString() + ":" + b.localAddress().getPort();
              log.info("console on {}/console/ (sign in: ./openkcm admin console)", url);
              return Optional.of(url);
            });
  }

  private CompletionStage<HttpResponse> handle(HttpRequest request) {
    String path = request.getUri().path();
    if (path.equals("/console/login") && request.method().equals(HttpMethods.GET)) {
      Optional<String> token = request.getUri().query().get("token");
      Optional<String> session = token.flatMap(sessions::redeem);
      if (session.isEmpty()) {
        return done(
            html(
                401,
                "<!doctype html><html lang=\"en\"><title>OpenKCM</title><p class=\"error\">This"
                    + " sign-in link is unknown, used or expired. Run ./openkcm admin console again.</p></html>"));
      }
      return done(
          HttpResponse.create()
              .withStatus(303)
              .addHeader(Location.create("/console/"))
              .addHeader(
                  RawHeader.create(
                      "Set-Cookie",
                      COOKIE
                          + "="
                          + session.get()
                          + "; Path=/console; HttpOnly; SameSite=Strict")));
    }
    Optional<ConsoleSessions.Session> session =
        request.getHeader("Cookie").flatMap(h -> cookie(h.value())).flatMap(sessions::session);
    if (session.isEmpty()) {
      return done(
          html(
              401,
              "<!doctype html><html lang=\"en\"><title>OpenKCM</title><p class=\"error\">Not"
                  + " signed in. Run ./openkcm admin console and open the link it prints.</p></html>"));
    }
    ConsoleSessions.Session s = session.get();
    Metadata md = new MetadataBuilder().addText(PeerIdentity.HEADER, s.identity().uri()).build();
    String[] seg = path.substring(1).split("/", -1);
    boolean post = request.method().equals(HttpMethods.POST);
    if (post) {
      return form(request)
          .thenCompose(
              f -> {
                if (!s.csrf().equals(f.get("csrf"))) {
                  return done(
                      html(
                          403,
                          Html.page(
                              "Refused",
                              s.identity().uri(),
                              "<p class=\"error\">The form token does not match this session.</p>")));
                }
                return post(seg, f, md, s);
              });
    }
    if (path.equals("/console/") || path.equals("/console")) {
      return tenants(md, s);
    }
    if (seg.length == 3 && seg[1].equals("tenants")) {
      return tenant(seg[2], md, s, request.getUri().query().get("done"));
    }
    if (path.equals("/console/onboard")) {
      return done(html(200, OnboardPage.render(s, Optional.empty())));
    }
    if (path.equals("/console/kill-switch")) {
      return killSwitch(md, s);
    }
    if (path.equals("/console/audit")) {
      return audit(
          md, s, request.getUri().query().get("tenant"), request.getUri().query().get("event"));
    }
    return done(html(404, Html.page("Not found", s.identity().uri(), "<p>No such page.</p>")));
  }

  private CompletionStage<HttpResponse> post(
      String[] seg, Map<String, String> f, Metadata md, ConsoleSessions.Session s) {
    if (seg.length == 2 && seg[1].equals("onboard")) {
      String tenant = f.getOrDefault("tenantId", "").trim();
      CompletionStage<TenantInfo> created =
          admin.createTenant(
              CreateTenantRequest.newBuilder()
                  .setTenantId(tenant)
                  .setL1Reference(f.getOrDefault("l1Reference", "").trim())
                  .setCorrelationId("console")
                  .build(),
              md);
      String service = f.getOrDefault("serviceId", "").trim();
      if (!service.isEmpty()) {
        created =
            created.thenCompose(
                t ->
                    admin.createService(
                        CreateServiceRequest.newBuilder()
                            .setTenantId(tenant)
                            .setServiceId(service)
                            .setCorrelationId("console")
                            .build(),
                        md));
      }
      return created.handle(
          (t, failure) ->
              failure == null
                  ? redirect("/console/tenants/" + tenant + "?done=onboarded")
                  : html(400, OnboardPage.render(s, Optional.of(GrpcErrors.fromGrpc(failure)))));
    }
    if (seg.length == 4 && seg[1].equals("tenants")) {
      String tenant = seg[2];
      CompletionStage<TenantInfo> call =
          switch (seg[3]) {
            case "kill" ->
                admin.killTenant(
                    KillTenantRequest.newBuilder()
                        .setTenantId(tenant)
                        .setReason(f.getOrDefault("reason", ""))
                        .setRequestedBy(s.identity().uri())
                        .setCorrelationId("console")
                        .build(),
                    md);
            case "revive" ->
                admin.reviveTenant(
                    ReviveTenantRequest.newBuilder()
                        .setTenantId(tenant)
                        .setRequestedBy(s.identity().uri())
                        .setCorrelationId("console")
                        .build(),
                    md);
            case "rotate" ->
                admin.rotateServiceKey(
                    org.openkcm.protocol.admin.v1.RotateKeyRequest.newBuilder()
                        .setTenantId(tenant)
                        .setServiceId(f.getOrDefault("serviceId", ""))
                        .setRequestedBy(s.identity().uri())
                        .setCorrelationId("console")
                        .build(),
                    md);
            case "approve-l1" ->
                admin.approveL1Link(
                    org.openkcm.protocol.admin.v1.ApproveL1LinkRequest.newBuilder()
                        .setTenantId(tenant)
                        .setRequestId(f.getOrDefault("requestId", ""))
                        .setApprovedBy(s.identity().uri())
                        .setCorrelationId("console")
                        .build(),
                    md);
            case "check-l1" ->
                admin.checkL1(
                    CheckL1Request.newBuilder()
                        .setTenantId(tenant)
                        .setCorrelationId("console")
                        .build(),
                    md);
            default -> null;
          };
      if (call != null) {
        return call.handle(
            (t, failure) ->
                redirect(
                    "/console/tenants/"
                        + tenant
                        + "?done="
                        + (failure == null
                            ? seg[3]
                            : java.net.URLEncoder.encode(
                                GrpcErrors.fromGrpc(failure).oneLine(), StandardCharsets.UTF_8))));
      }
    }
    return done(html(404, Html.page("Not found", s.identity().uri(), "<p>No such action.</p>")));
  }

  private CompletionStage<HttpResponse> tenants(Metadata md, ConsoleSessions.Session s) {
    return PersistenceQuery.get(system)
        .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier())
        .currentPersistenceIds()
        .filter(id -> id.startsWith(TenantEntity.ENTITY_KEY.name() + "|"))
        .map(id -> id.substring(TenantEntity.ENTITY_KEY.name().length() + 1))
        .take(200)
        .mapAsync(
            4,
            id ->
                admin
                    .getTenant(GetTenantRequest.newBuilder().setTenantId(id).build(), md)
                    .handle((t, failure) -> Optional.ofNullable(t)))
        .runFold(
            new ArrayList<TenantInfo>(),
            (list, t) -> {
              t.ifPresent(list::add);
              return list;
            },
            materializer)
        .thenApply(
            list -> {
              list.sort(java.util.Comparator.comparing(TenantInfo::getTenantId));
              return html(200, TenantListPage.render(list, s));
            });
  }

  /**
   * A tenant's audit trail, shown only to whom the REST API shows it: an identity the policies let
   * read the tenant (GetTenant, decided and audited as that identity); read off the event loop.
   */
  private CompletionStage<HttpResponse> audit(
      Metadata md, ConsoleSessions.Session s, Optional<String> tenant, Optional<String> event) {
    if (tenant.isEmpty()) {
      return done(html(200, auditPage.render(s, tenant, event)));
    }
    java.util.concurrent.Executor blocking =
        system.dispatchers().lookup(org.apache.pekko.actor.typed.DispatcherSelector.blocking());
    return admin
        .getTenant(GetTenantRequest.newBuilder().setTenantId(tenant.get()).build(), md)
        .handleAsync(
            (t, failure) -> {
              if (failure != null) {
                OpenKcmException e = GrpcErrors.fromGrpc(failure);
                return html(
                    e.reason() == org.openkcm.protocol.error.ErrorReason.PERMISSION_DENIED
                        ? 403
                        : 404,
                    Html.page(
                        "Audit of " + tenant.get(),
                        s.identity().uri(),
                        "<p class=\"error\">" + esc(e.oneLine()) + "</p>"));
              }
              return html(200, auditPage.render(s, tenant, event));
            },
            blocking);
  }

  private CompletionStage<HttpResponse> tenant(
      String id, Metadata md, ConsoleSessions.Session s, Optional<String> done) {
    return admin
        .getTenant(GetTenantRequest.newBuilder().setTenantId(id).build(), md)
        .handle(
            (t, failure) -> {
              if (failure != null) {
                OpenKcmException e = GrpcErrors.fromGrpc(failure);
                return html(
                    404,
                    Html.page(
                        "Tenant " + id,
                        s.identity().uri(),
                        "<p class=\"error\">" + esc(e.oneLine()) + "</p>"));
              }
              return html(200, TenantPage.render(id, t, s, done));
            });
  }

  private CompletionStage<HttpResponse> killSwitch(Metadata md, ConsoleSessions.Session s) {
    return admin
        .getKillSwitch(KillSwitchRequest.newBuilder().setScope("global").build(), md)
        .handle(
            (k, failure) -> {
              if (failure != null) {
                return html(
                    200,
                    Html.page(
                        "Kill-switch",
                        s.identity().uri(),
                        "<p class=\"error\">"
                            + esc(GrpcErrors.fromGrpc(failure).oneLine())
                            + "</p>"));
              }
              return html(200, KillSwitchPage.render(k, s));
            });
  }

  private CompletionStage<Map<String, String>> form(HttpRequest request) {
    return request
        .entity()
        .withSizeLimit(16 * 1024)
        .toStrict(10_000, materializer)
        .thenApply(
            strict -> {
              Map<String, String> out = new HashMap<>();
              for (String pair : strict.getData().utf8String().split("&")) {
                int eq = pair.indexOf('=');
                if (eq > 0) {
                  out.put(
                      URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                      URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
                }
              }
              return out;
            });
  }

  private static Optional<String> cookie(String header) {
    for (String part : header.split(";")) {
      String p = part.trim();
      if (p.startsWith(COOKIE + "=")) {
        return Optional.of(p.substring(COOKIE.length() + 1));
      }
    }
    return Optional.empty();
  }

  private static HttpResponse redirect(String to) {
    return HttpResponse.create().withStatus(303).addHeader(Location.create(to));
  }

  private static HttpResponse html(int status, String body) {
    return HttpResponse.create()
        .withStatus(status)
        .withEntity(ContentTypes.TEXT_HTML_UTF8, body)
        .addHeader(
            RawHeader.create(
                "Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"))
        .addHeader(RawHeader.create("X-Frame-Options", "DENY"));
  }

  private static CompletionStage<HttpResponse> done(HttpResponse r) {
    return CompletableFuture.completedFuture(r);
  }
}
