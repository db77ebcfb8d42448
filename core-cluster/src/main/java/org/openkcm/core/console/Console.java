package org.openkcm.core.console;

import static org.openkcm.core.console.Html.esc;

import com.typesafe.config.Config;
import java.net.InetAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
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
import org.openkcm.node.audit.AuditReader;
import org.openkcm.protocol.admin.v1.AdminServicePowerApi;
import org.openkcm.protocol.admin.v1.CheckL1Request;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.KillSwitchEntry;
import org.openkcm.protocol.admin.v1.KillSwitchRequest;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.admin.v1.ReviveTenantRequest;
import org.openkcm.protocol.admin.v1.ServiceInfo;
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
  private final Config audit;
  private final Materializer materializer;

  private Console(ActorSystem<?> system, AdminServicePowerApi admin, ConsoleSessions sessions) {
    this.system = system;
    this.admin = admin;
    this.sessions = sessions;
    this.audit = system.settings().config().getConfig("openkcm.audit.trail");
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
      return done(html(200, onboardPage(s, Optional.empty())));
    }
    if (path.equals("/console/kill-switch")) {
      return killSwitch(md, s);
    }
    if (path.equals("/console/audit")) {
      return done(
          html(
              200,
              auditPage(
                  s,
                  request.getUri().query().get("tenant"),
                  request.getUri().query().get("event"))));
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
                  : html(400, onboardPage(s, Optional.of(GrpcErrors.fromGrpc(failure)))));
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
              StringBuilder b = new StringBuilder();
              b.append(
                      "<table id=\"tenants\"><thead><tr><th>Tenant</th><th>Status</th><th>L1 key</th>")
                  .append("<th>L2</th><th>Services</th><th>Unsealed</th></tr></thead><tbody>");
              for (TenantInfo t : list) {
                b.append("<tr><td><a href=\"/console/tenants/")
                    .append(esc(t.getTenantId()))
                    .append("\">")
                    .append(esc(t.getTenantId()))
                    .append("</a></td><td class=\"")
                    .append(esc(t.getStatus()))
                    .append("\">")
                    .append(esc(t.getStatus()))
                    .append("</td><td><code>")
                    .append(esc(t.getL1Reference()))
                    .append("</code></td><td>v")
                    .append(t.getL2Version())
                    .append("</td><td>")
                    .append(t.getServicesCount())
                    .append("</td><td>")
                    .append(t.getUnsealed() ? "yes" : "no")
                    .append("</td></tr>");
              }
              b.append("</tbody></table>");
              if (list.isEmpty()) {
                b.append("<p>No tenants yet. <a href=\"/console/onboard\">Onboard one</a>.</p>");
              }
              return html(200, Html.page("Tenants", s.identity().uri(), b.toString()));
            });
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
              StringBuilder b = new StringBuilder();
              done.ifPresent(
                  d -> {
                    String said =
                        switch (d) {
                          case "onboarded" -> "Onboarded.";
                          case "kill" -> "Killed: its keys are wiped everywhere.";
                          case "revive" -> "Revived.";
                          case "check-l1" -> "The L1 key answered.";
                          case "rotate" -> "Rotated: a new active L3 version.";
                          case "approve-l1" -> "Re-link approved.";
                          default -> d;
                        };
                    boolean ok = !said.equals(d);
                    b.append("<p role=\"status\" id=\"done\"")
                        .append(ok ? "" : " class=\"error\"")
                        .append(">")
                        .append(esc(said))
                        .append("</p>");
                  });
              b.append("<dl><dt>Status</dt><dd id=\"status\" class=\"")
                  .append(esc(t.getStatus()))
                  .append("\">")
                  .append(esc(t.getStatus()))
                  .append("</dd><dt>L1 key</dt><dd><code>")
                  .append(esc(t.getL1Reference()))
                  .append("</code></dd><dt>L2 version</dt><dd>v")
                  .append(t.getL2Version())
                  .append("</dd><dt>Unsealed</dt><dd>")
                  .append(t.getUnsealed() ? "yes" : "no")
                  .append("</dd>");
              if (!t.getKillReason().isEmpty()) {
                b.append("<dt>Killed</dt><dd>")
                    .append(
                        esc(
                            t.getKillReason()
                                + " — by "
                                + t.getKilledBy()
                                + " since "
                                + t.getKilledSince()))
                    .append("</dd>");
              }
              if (!t.getPendingL1LinkId().isEmpty()) {
                b.append("<dt>Pending L1 re-link</dt><dd id=\"pending\">to <code>")
                    .append(esc(t.getPendingL1Reference()))
                    .append("</code>, requested by ")
                    .append(esc(t.getPendingL1RequestedBy()))
                    .append(
                        Html.form(
                            "/console/tenants/" + id + "/approve-l1",
                            s.csrf(),
                            "<input type=\"hidden\" name=\"requestId\" value=\""
                                + esc(t.getPendingL1LinkId())
                                + "\">",
                            "Approve the re-link"))
                    .append("</dd>");
              }
              b.append("</dl><h2>Services</h2><table><tr><th>Service</th><th>L3 version</th>")
                  .append("<th>Versions</th><th></th></tr>");
              for (ServiceInfo svc : t.getServicesList()) {
                StringBuilder versions = new StringBuilder();
                svc.getVersionsList()
                    .forEach(
                        v ->
                            versions
                                .append("v")
                                .append(v.getVersion())
                                .append(" ")
                                .append(esc(v.getState()))
                                .append("<br>"));
                b.append("<tr><td>")
                    .append(esc(svc.getServiceId()))
                    .append("</td><td>v")
                    .append(svc.getL3Version())
                    .append("</td><td>")
                    .append(versions)
                    .append("</td><td>")
                    .append(
                        Html.form(
                            "/console/tenants/" + id + "/rotate",
                            s.csrf(),
                            "<input type=\"hidden\" name=\"serviceId\" value=\""
                                + esc(svc.getServiceId())
                                + "\">",
                            "Rotate " + svc.getServiceId()))
                    .append("</td></tr>");
              }
              b.append("</table><h2>Actions</h2>");
              b.append(
                  Html.form(
                      "/console/tenants/" + id + "/check-l1",
                      s.csrf(),
                      "",
                      "Check the L1 key now"));
              if (t.getStatus().equals("killed")) {
                b.append(Html.form("/console/tenants/" + id + "/revive", s.csrf(), "", "Revive"));
              } else {
                b.append(
                    Html.form(
                        "/console/tenants/" + id + "/kill",
                        s.csrf(),
                        Html.field("reason", "Reason for the kill", true),
                        "Kill this tenant"));
              }
              b.append("<p><a href=\"/console/audit?tenant=")
                  .append(esc(id))
                  .append("\">Audit trail of this tenant</a></p>");
              return html(200, Html.page("Tenant " + id, s.identity().uri(), b.toString()));
            });
  }

  private String onboardPage(ConsoleSessions.Session s, Optional<OpenKcmException> failed) {
    String error =
        failed
            .map(e -> "<p class=\"error\" role=\"alert\">" + esc(e.oneLine()) + "</p>")
            .orElse("");
    return Html.page(
        "Onboard a tenant",
        s.identity().uri(),
        error
            + "<p>Link your root key (L1): OpenKCM makes the tenant key and wraps it with your key; the"
            + " round trip proves the reference before anything is stored.</p>"
            + Html.form(
                "/console/onboard",
                s.csrf(),
                Html.field("tenantId", "Tenant id", true)
                    + Html.field(
                        "l1Reference", "L1 key reference (aws-kms:…, pkcs11:…, devfile:…)", true)
                    + Html.field("serviceId", "First service (optional)", false),
                "Onboard"));
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
              StringBuilder b =
                  new StringBuilder("<p>Region <code>" + esc(k.getRegion()) + "</code>: ");
              if (k.getEngagedCount() == 0) {
                b.append("no kill-switch is engaged.</p>");
              } else {
                b.append(
                    "engaged:</p><table><tr><th>Scope</th><th>Reason</th><th>By</th><th>Since</th></tr>");
                for (KillSwitchEntry e : k.getEngagedList()) {
                  b.append("<tr><td>")
                      .append(esc(e.getScope()))
                      .append("</td><td>")
                      .append(esc(e.getReason()))
                      .append("</td><td>")
                      .append(esc(e.getRequestedBy()))
                      .append("</td><td>")
                      .append(esc(e.getSince()))
                      .append("</td></tr>");
                }
                b.append("</table>");
              }
              return html(200, Html.page("Kill-switch", s.identity().uri(), b.toString()));
            });
  }

  private String auditPage(
      ConsoleSessions.Session s, Optional<String> tenant, Optional<String> event) {
    StringBuilder b = new StringBuilder();
    b.append("<form method=\"get\" action=\"/console/audit\">")
        .append(Html.field("tenant", "Tenant", true))
        .append(Html.field("event", "Event (e.g. tenant.kill; empty: all)", false))
        .append("<button type=\"submit\">Search</button></form>");
    if (tenant.isEmpty()) {
      return Html.page("Audit", s.identity().uri(), b.toString());
    }
    if (!audit.getBoolean("enabled")) {
      b.append(
          "<p>The persisted audit trail is off on this node (openkcm.audit.trail.enabled).</p>");
      return Html.page("Audit", s.identity().uri(), b.toString());
    }
    try (AuditReader r =
        new AuditReader(
            audit.getString("url"), audit.getString("user"), audit.getString("password"))) {
      if (!r.exists(tenant.get())) {
        b.append("<p>No audit records of ").append(esc(tenant.get())).append(".</p>");
      } else {
        var verdict = r.verify(tenant.get());
        b.append("<p id=\"verdict\">Chain: ")
            .append(
                verdict.ok()
                    ? "intact"
                    : "<span class=\"error\">" + esc(verdict.firstProblem().get()) + "</span>")
            .append(" (")
            .append(verdict.records())
            .append(" records, ")
            .append(verdict.signedCheckpoints())
            .append(" signed checkpoints)</p>");
        List<String> lines = new ArrayList<>();
        r.export(tenant.get(), Optional.empty(), lines::add);
        b.append("<table id=\"audit\"><tr><th>#</th><th>Record</th></tr>");
        int shown = 0;
        for (int i = lines.size() - 1; i >= 0 && shown < 200; i--) {
          String line = lines.get(i);
          if (event
              .filter(e -> !e.isBlank())
              .map(e -> line.contains("\"event\":\"" + e + "\""))
              .orElse(true)) {
            b.append("<tr><td>")
                .append(i + 1)
                .append("</td><td><code>")
                .append(esc(line))
                .append("</code></td></tr>");
            shown++;
          }
        }
        b.append("</table>");
      }
    } catch (java.sql.SQLException e) {
      b.append("<p class=\"error\">The audit database is not reachable: ")
          .append(esc(e.getMessage()))
          .append("</p>");
    }
    return Html.page("Audit of " + tenant.get(), s.identity().uri(), b.toString());
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
