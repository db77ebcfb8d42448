package org.openkcm.systemtest.rest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.core.rest.AdminRest;
import org.openkcm.node.audit.PostgresAuditTrail;
import org.openkcm.node.tls.DevCa;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.systemtest.DemoStack;

/**
 * The governance REST API on the Core's admin listener over mutual TLS: the OpenAPI document and
 * the routes match both ways, each route answers with its documented shape, errors are RFC 9457
 * problems with the reason code, and the caller's certificate decides what it may do.
 */
class AdminRestIT {

  private static final String DOMAIN = "openkcm.local";
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Path dir;
  private static DemoStack stack;
  private static HttpClient operator;
  private static HttpClient app;
  private static HttpClient officer;
  private static String base;
  private static JsonNode openApi;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("openkcm-rest");
    Config tlsOn = ConfigFactory.parseMap(Map.of("openkcm.tls.enabled", true));
    Config core =
        ConfigFactory.parseMap(Map.of("openkcm.audit.trail.enabled", true)).withFallback(tlsOn);
    stack = DemoStack.start(dir, "test", core, tlsOn);
    base = "https://127.0.0.1:" + stack.core().grpcAddress().getPort();
    DevCa ca = DevCa.loadOrCreate(dir.resolve("pki"), DOMAIN);
    operator = client(ca, "cli", "admin/cli");
    // a gateway may connect to the Core but not administer it
    app = client(ca, "gw", "gateway/gw-rest");
    officer = client(ca, "officer", "admin/officer");
    openApi = JSON.readTree(call(operator, "GET", "/v1/openapi.json", null).body());
  }

  @AfterAll
  static void stop() throws Exception {
    if (stack != null) {
      stack.close();
    }
    try (var c =
            java.sql.DriverManager.getConnection(
                "jdbc:postgresql://127.0.0.1:5432/test", "postgres", "");
        var st = c.createStatement()) {
      for (String t : List.of("rest-acme", "rest-gone", "x", "evil", PostgresAuditTrail.NODE)) {
        st.execute("DROP SCHEMA IF EXISTS " + PostgresAuditTrail.schema(t) + " CASCADE");
      }
    }
  }

  private static HttpClient client(DevCa ca, String base, String id) {
    Path d = dir.resolve("clients");
    ca.issue(
        SpiffeId.parse("spiffe://" + DOMAIN + "/" + id),
        Instant.now().minusSeconds(60),
        Instant.now().plus(Duration.ofDays(1)),
        d.resolve(base + ".crt"),
        d.resolve(base + ".key"));
    MutualTls tls =
        MutualTls.load(
            new MutualTls.Settings(
                d.resolve(base + ".crt"),
                d.resolve(base + ".key"),
                dir.resolve("pki").resolve(DevCa.CA_CERT),
                DOMAIN,
                List.of("TLSv1.3"),
                Duration.ofSeconds(30)));
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .sslContext(tls.sslContext(Set.of("core")))
        .connectTimeout(Duration.ofSeconds(10))
        .build();
  }

  private static HttpResponse<String> call(HttpClient c, String method, String path, String body)
      throws Exception {
    HttpRequest.Builder r =
        HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
    r.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      r.header("Content-Type", "application/json");
    }
    return c.send(r.build(), HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void everyRouteIsDocumentedAndEveryDocumentedRouteExists() {
    Set<String> documented = new HashSet<>();
    Iterator<Map.Entry<String, JsonNode>> paths = openApi.get("paths").fields();
    while (paths.hasNext()) {
      Map.Entry<String, JsonNode> p = paths.next();
      p.getValue()
          .fieldNames()
          .forEachRemaining(
              m -> {
                if (!m.equals("parameters")) {
                  documented.add(m.toUpperCase() + " " + p.getKey());
                }
              });
    }
    Set<String> served = new HashSet<>();
    AdminRest.ROUTES.forEach(r -> served.add(r.method() + " " + r.path()));
    assertEquals(served, documented);
  }

  /** The required fields of the schema the document gives for {@code path method status}. */
  private static void assertShape(String path, String method, int status, JsonNode answer) {
    JsonNode responses = openApi.get("paths").get(path).get(method.toLowerCase()).get("responses");
    JsonNode response =
        responses.has(String.valueOf(status))
            ? responses.get(String.valueOf(status))
            : responses.get("default");
    assertTrue(response != null, "status " + status + " documented for " + method + " " + path);
    response = resolve(response);
    JsonNode schema = resolve(response.get("content").elements().next().get("schema"));
    for (JsonNode required : schema.path("required")) {
      assertTrue(
          answer.has(required.asText()),
          method + " " + path + " answers " + required + ": " + answer);
    }
  }

  private static JsonNode resolve(JsonNode node) {
    while (node.has("$ref")) {
      String[] ref = node.get("$ref").asText().substring(2).split("/");
      node = openApi;
      for (String s : ref) {
        node = node.get(s);
      }
    }
    return node;
  }

  @Test
  void eachRouteAnswersWithItsDocumentedShape() throws Exception {
    HttpResponse<String> created =
        call(
            operator,
            "POST",
            "/v1/tenants",
            "{\"tenantId\":\"rest-acme\",\"l1Reference\":\"devfile:rest-root\"}");
    assertEquals(201, created.statusCode(), created.body());
    assertShape("/v1/tenants", "POST", 201, JSON.readTree(created.body()));

    String t = "/v1/tenants/rest-acme";
    HttpResponse<String> got = call(operator, "GET", t, null);
    assertEquals(200, got.statusCode(), got.body());
    assertShape("/v1/tenants/{tenant}", "GET", 200, JSON.readTree(got.body()));

    HttpResponse<String> service =
        call(operator, "POST", t + "/services", "{\"serviceId\":\"billing\"}");
    assertEquals(201, service.statusCode(), service.body());
    assertTrue(service.body().contains("billing"));
    assertShape("/v1/tenants/{tenant}/services", "POST", 201, JSON.readTree(service.body()));

    HttpResponse<String> checked = call(operator, "POST", t + "/check-l1", null);
    assertEquals(200, checked.statusCode(), checked.body());

    HttpResponse<String> killed =
        call(operator, "POST", t + "/kill", "{\"reason\":\"rest drill\"}");
    assertEquals(200, killed.statusCode(), killed.body());
    assertEquals("killed", JSON.readTree(killed.body()).get("status").asText());
    assertShape("/v1/tenants/{tenant}/kill", "POST", 200, JSON.readTree(killed.body()));

    HttpResponse<String> revived = call(operator, "POST", t + "/revive", "{}");
    assertEquals(200, revived.statusCode(), revived.body());
    assertEquals("active", JSON.readTree(revived.body()).get("status").asText());

    HttpResponse<String> ks = call(operator, "GET", "/v1/kill-switch", null);
    assertEquals(200, ks.statusCode(), ks.body());
    assertShape("/v1/kill-switch", "GET", 200, JSON.readTree(ks.body()));

    HttpResponse<String> seal = call(operator, "GET", "/v1/seal", null);
    assertEquals(200, seal.statusCode(), seal.body());

    JsonNode trail = null;
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (System.nanoTime() < deadline) { // the trail's writer batches: poll for the kill record
      HttpResponse<String> a = call(operator, "GET", t + "/audit?event=tenant.kill", null);
      assertEquals(200, a.statusCode(), a.body());
      trail = JSON.readTree(a.body());
      if (trail.get("records").size() > 0) {
        break;
      }
      Thread.onSpinWait();
    }
    assertShape("/v1/tenants/{tenant}/audit", "GET", 200, trail);
    assertTrue(trail.get("intact").asBoolean(), trail.toString());
    assertTrue(trail.get("records").toString().contains("rest drill"), trail.toString());
    // the API verifies strictly: a checkpoint a database writer added without a signature (the
    // chain alone would accept it) makes the trail not intact
    String audit = PostgresAuditTrail.schema("rest-acme");
    try (var c =
            java.sql.DriverManager.getConnection(
                "jdbc:postgresql://127.0.0.1:5432/test", "postgres", "");
        var st = c.createStatement()) {
      st.execute("SET session_replication_role = replica");
      st.execute(
          "INSERT INTO "
              + audit
              + ".checkpoints (seq, hash, signed_at) SELECT seq, hash, now() FROM "
              + audit
              + ".records WHERE seq = 1 ON CONFLICT (seq) DO UPDATE SET algorithm = NULL,"
              + " signature = NULL, certificate = NULL");
      JsonNode forged = JSON.readTree(call(operator, "GET", t + "/audit", null).body());
      assertTrue(!forged.get("intact").asBoolean(), forged.toString());
      assertTrue(
          forged.get("firstProblem").asText().contains("checkpoint 1 is not signed"),
          forged.toString());
      st.execute("DELETE FROM " + audit + ".checkpoints WHERE seq = 1 AND signature IS NULL");
    }
    for (JsonNode record : trail.get("records")) { // only the event asked for
      assertEquals("tenant.kill", record.get("record").get("event").asText(), record.toString());
    }
    HttpResponse<String> foreign = call(app, "GET", t + "/audit", null); // not an admin
    assertEquals(403, foreign.statusCode(), foreign.body());
    assertEquals("PERMISSION_DENIED", JSON.readTree(foreign.body()).get("reason").asText());

    HttpResponse<String> page = call(operator, "GET", "/v1/tenants?limit=10", null);
    assertEquals(200, page.statusCode(), page.body());
    assertShape("/v1/tenants", "GET", 200, JSON.readTree(page.body()));
    assertTrue(page.body().contains("\"rest-acme\""), page.body());

    HttpResponse<String> rotated =
        call(operator, "POST", t + "/rotate", "{\"serviceId\":\"billing\"}");
    assertEquals(200, rotated.statusCode(), rotated.body());
    assertEquals(2, JSON.readTree(rotated.body()).get("services").get(0).get("l3Version").asInt());
    HttpResponse<String> l2 = call(operator, "POST", t + "/rotate-l2", "{}");
    assertEquals(200, l2.statusCode(), l2.body());
    assertEquals(2, JSON.readTree(l2.body()).get("l2Version").asInt());
    HttpResponse<String> retired =
        call(operator, "POST", t + "/retire", "{\"serviceId\":\"billing\",\"below\":2}");
    assertEquals(200, retired.statusCode(), retired.body());

    HttpResponse<String> link =
        call(operator, "POST", t + "/l1-link", "{\"l1Reference\":\"devfile:rest-root-2\"}");
    assertEquals(200, link.statusCode(), link.body());
    String request = JSON.readTree(link.body()).get("pendingL1LinkId").asText();
    HttpResponse<String> approved =
        call(officer, "POST", t + "/l1-link/approve", "{\"requestId\":\"" + request + "\"}");
    assertEquals(200, approved.statusCode(), approved.body());
    assertEquals("devfile:rest-root-2", JSON.readTree(approved.body()).get("l1Reference").asText());

    HttpResponse<String> engaged =
        call(
            operator,
            "POST",
            "/v1/kill-switch/engage",
            "{\"scope\":\"region:elsewhere\",\"reason\":\"drill\"}");
    assertEquals(200, engaged.statusCode(), engaged.body());
    assertShape("/v1/kill-switch/engage", "POST", 200, JSON.readTree(engaged.body()));
    HttpResponse<String> released =
        call(operator, "POST", "/v1/kill-switch/release", "{\"scope\":\"region:elsewhere\"}");
    assertEquals(200, released.statusCode(), released.body());

    call(
        operator,
        "POST",
        "/v1/tenants",
        "{\"tenantId\":\"rest-gone\",\"l1Reference\":\"devfile:rest-gone-root\"}");
    HttpResponse<String> gone =
        call(operator, "POST", "/v1/tenants/rest-gone/offboard", "{\"reason\":\"contract ended\"}");
    assertEquals(200, gone.statusCode(), gone.body());
    assertShape("/v1/tenants/{tenant}/offboard", "POST", 200, JSON.readTree(gone.body()));
  }

  @Test
  void writesFromAnotherSiteOrWithABodyThatIsNotJsonAreRefused() throws Exception {
    String body = "{\"tenantId\":\"csrf\",\"l1Reference\":\"devfile:csrf\"}";
    for (String[] header :
        List.of(
            new String[] {"Origin", "https://evil.example"},
            new String[] {"Origin", "null"},
            new String[] {"Sec-Fetch-Site", "cross-site"},
            new String[] {"Sec-Fetch-Site", "same-site"})) {
      HttpResponse<String> r =
          operator.send(
              HttpRequest.newBuilder(URI.create(base + "/v1/tenants"))
                  .timeout(Duration.ofSeconds(30))
                  .header("Content-Type", "application/json")
                  .header(header[0], header[1])
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(403, r.statusCode(), header[0] + ": " + header[1] + " -> " + r.body());
      assertEquals("PERMISSION_DENIED", JSON.readTree(r.body()).get("reason").asText());
    }
    // what an HTML form may post across sites without asking
    for (String type :
        List.of("text/plain", "application/x-www-form-urlencoded", "multipart/form-data")) {
      HttpResponse<String> r =
          operator.send(
              HttpRequest.newBuilder(URI.create(base + "/v1/tenants/csrf/kill"))
                  .timeout(Duration.ofSeconds(30))
                  .header("Content-Type", type)
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertEquals(415, r.statusCode(), type + " -> " + r.body());
    }
    HttpResponse<String> missing = call(operator, "GET", "/v1/tenants/csrf", null);
    assertEquals(404, missing.statusCode(), "nothing was created: " + missing.body());
    // the listener's own origin, and a request without a body, still pass the check (and are
    // answered for the tenant they name, which does not exist)
    HttpResponse<String> same =
        operator.send(
            HttpRequest.newBuilder(URI.create(base + "/v1/tenants/csrf/kill"))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .header("Origin", base)
                .header("Sec-Fetch-Site", "same-origin")
                .POST(HttpRequest.BodyPublishers.ofString("{\"reason\":\"x\"}"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(
        "TENANT_NOT_FOUND", JSON.readTree(same.body()).get("reason").asText(), same.body());
    HttpResponse<String> noBody = call(operator, "POST", "/v1/tenants/csrf/check-l1", null);
    assertEquals("TENANT_NOT_FOUND", JSON.readTree(noBody.body()).get("reason").asText());
  }

  @Test
  void errorsAreProblemsWithTheReasonCode() throws Exception {
    HttpResponse<String> missing = call(operator, "GET", "/v1/tenants/nobody-here", null);
    assertEquals(404, missing.statusCode());
    assertTrue(
        missing
            .headers()
            .firstValue("content-type")
            .orElse("")
            .startsWith("application/problem+json"));
    JsonNode p = JSON.readTree(missing.body());
    assertEquals("TENANT_NOT_FOUND", p.get("reason").asText());
    assertShape("/v1/tenants/{tenant}", "GET", 404, p);

    HttpResponse<String> unknownField =
        call(
            operator,
            "POST",
            "/v1/tenants",
            "{\"tenantId\":\"x\",\"l1Reference\":\"devfile:x\",\"admin\":true}");
    assertEquals(400, unknownField.statusCode());
    assertEquals("INVALID_ARGUMENT", JSON.readTree(unknownField.body()).get("reason").asText());

    HttpResponse<String> notAdmin =
        call(
            app, "POST", "/v1/tenants", "{\"tenantId\":\"evil\",\"l1Reference\":\"devfile:evil\"}");
    assertEquals(403, notAdmin.statusCode(), notAdmin.body());
    assertEquals("PERMISSION_DENIED", JSON.readTree(notAdmin.body()).get("reason").asText());
  }
}
