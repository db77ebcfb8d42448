package org.openkcm.systemtest.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.node.audit.PostgresAuditTrail;
import org.openkcm.node.tls.DevCa;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.systemtest.DemoStack;
import org.openqa.selenium.By;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The web console in a real browser (headless Chromium from Debian, through chromedriver): sign in
 * with the one-time URL an admin identity obtained over mTLS, onboard a tenant through the form,
 * see it listed, kill it, and find the kill in its (verified) audit trail. Screenshots go to
 * target/console-screenshots.
 */
class ConsoleIT {

  private static final String DOMAIN = "openkcm.local";
  private static final String PG = "jdbc:postgresql://127.0.0.1:5432/test";
  private static final String TENANT = "console-" + Long.toHexString(System.nanoTime() & 0xffffff);

  private static Path dir;
  private static DemoStack stack;
  private static HttpClient cli;
  private static WebDriver browser;
  private static final Path SHOTS = Path.of("target", "console-screenshots");

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("openkcm-console");
    Config tlsOn = ConfigFactory.parseMap(Map.of("openkcm.tls.enabled", true));
    // one narrower policy on top of the shipped ones: the officer may not read the drill tenant
    Path policy = dir.resolve("narrower.cedar");
    Files.writeString(
        policy,
        "@id(\"officer-does-not-read-the-drill-tenant\")\nforbid (principal =="
            + " OpenKCM::Admin::\"officer\", action == OpenKCM::Action::\"GetTenant\", resource =="
            + " OpenKCM::Tenant::\""
            + TENANT
            + "\");\n");
    Config core =
        ConfigFactory.parseMap(
                Map.of(
                    "openkcm.audit.trail.enabled",
                    true,
                    "openkcm.audit.trail.checkpoint-every",
                    1,
                    "openkcm.authz.policy-files",
                    List.of("classpath:policies/default.cedar", policy.toString())))
            .withFallback(tlsOn);
    stack = DemoStack.start(dir, "test", core, tlsOn);
    DevCa ca = DevCa.loadOrCreate(dir.resolve("pki"), DOMAIN);
    Path d = dir.resolve("clients");
    ca.issue(
        SpiffeId.parse("spiffe://" + DOMAIN + "/admin/cli"),
        Instant.now().minusSeconds(60),
        Instant.now().plus(Duration.ofDays(1)),
        d.resolve("cli.crt"),
        d.resolve("cli.key"));
    cli = client(ca, "cli");
    Files.createDirectories(SHOTS);
    ChromeOptions options = new ChromeOptions();
    options.setBinary("/usr/bin/chromium");
    options.addArguments(
        "--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900");
    browser =
        new ChromeDriver(
            new ChromeDriverService.Builder()
                .usingDriverExecutable(Path.of("/usr/bin/chromedriver").toFile())
                .usingAnyFreePort()
                .build(),
            options);
  }

  @AfterAll
  static void stop() throws Exception {
    if (browser != null) {
      browser.quit();
    }
    if (stack != null) {
      stack.close();
    }
    try (var c = DriverManager.getConnection(PG, "postgres", "");
        var st = c.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS " + PostgresAuditTrail.schema(TENANT) + " CASCADE");
      st.execute(
          "DROP SCHEMA IF EXISTS "
              + PostgresAuditTrail.schema(PostgresAuditTrail.NODE)
              + " CASCADE");
    }
  }

  /** An HTTPS client presenting {@code spiffe://<domain>/admin/<name>}. */
  private static HttpClient client(DevCa ca, String name) {
    Path d = dir.resolve("clients");
    ca.issue(
        SpiffeId.parse("spiffe://" + DOMAIN + "/admin/" + name),
        Instant.now().minusSeconds(60),
        Instant.now().plus(Duration.ofDays(1)),
        d.resolve(name + ".crt"),
        d.resolve(name + ".key"));
    MutualTls tls =
        MutualTls.load(
            new MutualTls.Settings(
                d.resolve(name + ".crt"),
                d.resolve(name + ".key"),
                dir.resolve("pki").resolve(DevCa.CA_CERT),
                DOMAIN,
                List.of("TLSv1.3"),
                Duration.ofSeconds(30)));
    return HttpClient.newBuilder()
        .version(HttpClient.Version.HTTP_1_1)
        .sslContext(tls.sslContext(Set.of("core")))
        .build();
  }

  private static HttpResponse<String> post(HttpClient as, String path) throws Exception {
    return as.send(
        HttpRequest.newBuilder(
                URI.create("https://127.0.0.1:" + stack.core().grpcAddress().getPort() + path))
            .POST(HttpRequest.BodyPublishers.noBody())
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void consoleSessionsAreForAdminsWithARoleAndTheAuditPageIsAuthorizedLikeRest() throws Exception {
    DevCa ca = DevCa.loadOrCreate(dir.resolve("pki"), DOMAIN);
    // an admin certificate without a role gets no session
    HttpResponse<String> none = post(client(ca, "nobody"), "/v1/console/tokens");
    assertEquals(403, none.statusCode(), none.body());
    assertTrue(none.body().contains("holds no admin role"), none.body());
    // the officer gets one, but the policies do not let it read the drill tenant: neither does
    // the console's audit page
    HttpClient officer = client(ca, "officer");
    HttpResponse<String> token = post(officer, "/v1/console/tokens");
    assertEquals(201, token.statusCode(), token.body());
    browser.manage().deleteAllCookies();
    browser.get(new ObjectMapper().readTree(token.body()).get("url").asText());
    assertEquals("spiffe://" + DOMAIN + "/admin/officer", text("identity"));
    String base =
        browser.getCurrentUrl().substring(0, browser.getCurrentUrl().indexOf("/console/"));
    browser.get(base + "/console/audit?tenant=" + TENANT);
    assertTrue(browser.findElements(By.id("audit")).isEmpty(), browser.getPageSource());
    assertTrue(browser.getPageSource().contains("PERMISSION_DENIED"), browser.getPageSource());
    shot("7-audit-denied");
    HttpResponse<String> rest =
        officer.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "https://127.0.0.1:"
                            + stack.core().grpcAddress().getPort()
                            + "/v1/tenants/"
                            + TENANT
                            + "/audit"))
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(403, rest.statusCode(), "the REST API answers the same: " + rest.body());
    browser.manage().deleteAllCookies();
  }

  private static String signInUrl() throws Exception {
    HttpResponse<String> r =
        cli.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "https://127.0.0.1:"
                            + stack.core().grpcAddress().getPort()
                            + "/v1/console/tokens"))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertEquals(201, r.statusCode(), r.body());
    return new ObjectMapper().readTree(r.body()).get("url").asText();
  }

  private static void shot(String name) throws Exception {
    Files.write(
        SHOTS.resolve(name + ".png"),
        ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
  }

  /**
   * Clicks and waits (bounded) until the browser has left the page: the old document's root goes
   * stale once the next page replaced it.
   */
  private static void go(By target) {
    org.openqa.selenium.WebElement page = browser.findElement(By.tagName("html"));
    browser.findElement(target).click();
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (System.nanoTime() < deadline) {
      try {
        page.getTagName();
      } catch (
          org.openqa.selenium.WebDriverException
              left) { // stale, or "node does not belong to the document"
        return;
      }
    }
    throw new AssertionError("the page did not change after clicking " + target);
  }

  private static String text(String id) {
    var found = browser.findElements(By.id(id));
    assertTrue(
        !found.isEmpty(),
        "#" + id + " on " + browser.getCurrentUrl() + ": " + browser.getPageSource());
    return found.get(0).getText();
  }

  @Test
  void signInOnboardListKillAndAudit() throws Exception {
    String url = signInUrl();
    browser.get(url);
    assertTrue(browser.getCurrentUrl().endsWith("/console/"), browser.getCurrentUrl());
    assertEquals("spiffe://" + DOMAIN + "/admin/cli", text("identity"));
    shot("1-signed-in");

    go(By.linkText("Onboard a tenant"));
    browser.findElement(By.id("tenantId")).sendKeys(TENANT);
    browser.findElement(By.id("l1Reference")).sendKeys("devfile:" + TENANT + "-root");
    browser.findElement(By.id("serviceId")).sendKeys("web");
    shot("2-onboard-form");
    go(By.cssSelector("button[type=submit]"));
    assertEquals("active", text("status"));
    assertTrue(browser.getPageSource().contains("web"), "the first service is listed");
    shot("3-onboarded");

    go(By.xpath("//button[text()='Rotate web']"));
    assertTrue(text("done").startsWith("Rotated"), text("done"));
    assertTrue(
        browser.getPageSource().contains("v2 active")
            && browser.getPageSource().contains("v1 decrypt-only"));

    go(By.linkText("Tenants"));
    assertTrue(
        browser.findElement(By.id("tenants")).getText().contains(TENANT), "the tenant is listed");
    shot("4-tenants");

    go(By.linkText(TENANT));
    browser.findElement(By.id("reason")).sendKeys("console drill");
    go(By.xpath("//button[text()='Kill this tenant']"));
    assertEquals("killed", text("status"));
    assertTrue(text("done").startsWith("Killed"), text("done"));
    shot("5-killed");

    go(By.linkText("Audit trail of this tenant"));
    String audit = browser.findElement(By.id("audit")).getText();
    assertTrue(audit.contains("tenant.kill") && audit.contains("console drill"), audit);
    assertTrue(
        audit.contains("spiffe://" + DOMAIN + "/admin/cli"),
        "the kill names the signed-in identity");
    assertTrue(text("verdict").startsWith("Chain: intact"), text("verdict"));
    shot("6-audit");

    // the sign-in URL works once
    browser.manage().deleteAllCookies();
    browser.get(url);
    assertTrue(browser.getPageSource().contains("unknown, used or expired"));
    browser.get(url.substring(0, url.indexOf("/console/")) + "/console/");
    assertTrue(browser.getPageSource().contains("Not signed in"));
  }
}
