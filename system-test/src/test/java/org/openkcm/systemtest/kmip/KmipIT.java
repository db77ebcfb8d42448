package org.openkcm.systemtest.kmip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openkcm.node.tls.DevCa;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.systemtest.DemoStack;

/**
 * KMIP at the gateway with a real client written by others: the PyKMIP client (Debian package
 * python3-pykmip) against a Core and a gateway with mutual TLS. Each client certificate names an
 * application; its tenant and service decide what it sees.
 */
class KmipIT {

  private static final String DOMAIN = "openkcm.local";
  private static final String PYTHON = "/usr/bin/python3";
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Path dir;
  private static Path pki;
  private static Path script;
  private static DemoStack stack;
  private static InetSocketAddress kmip;

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("openkcm-kmip");
    pki = dir.resolve("pki");
    Config tlsOn = ConfigFactory.parseMap(Map.of("openkcm.tls.enabled", true));
    stack = DemoStack.start(dir, "test", tlsOn, tlsOn);
    stack.ensureTenant("acme", "devfile:acme-root", "billing");
    stack.ensureTenant("globex", "devfile:globex-root", "billing");
    stack.ensureTenant("initech", "devfile:initech-root", "billing");
    kmip = stack.gateway().kmipAddress().orElseThrow();
    script = dir.resolve("pykmip_client.py");
    try (InputStream in = KmipIT.class.getResourceAsStream("/kmip/pykmip_client.py")) {
      Files.copy(in, script);
    }
    DevCa ca = DevCa.loadOrCreate(pki, DOMAIN);
    issue(ca, "acme", "app/acme/billing");
    issue(ca, "globex", "app/globex/billing");
    issue(ca, "initech", "app/initech/billing");
    issue(ca, "admin", "admin/cli2");
    issue(DevCa.loadOrCreate(dir.resolve("other-ca"), DOMAIN), "foreign", "app/acme/billing");
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  private static void issue(DevCa ca, String base, String id) {
    Path d = dir.resolve("clients");
    ca.issue(
        SpiffeId.parse("spiffe://" + DOMAIN + "/" + id),
        Instant.now().minusSeconds(60),
        Instant.now().plus(Duration.ofDays(1)),
        d.resolve(base + ".crt"),
        d.resolve(base + ".key"));
  }

  /** The steps PyKMIP reported, by name (the last of a name wins). */
  private static Map<String, JsonNode> pykmip(String client, String version, String... args)
      throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(PYTHON);
    cmd.add(script.toString());
    cmd.add(args[0]);
    cmd.add(kmip.getHostString());
    cmd.add(String.valueOf(kmip.getPort()));
    Path d = dir.resolve("clients");
    cmd.add(client.isEmpty() ? "" : d.resolve(client + ".crt").toString());
    cmd.add(client.isEmpty() ? "" : d.resolve(client + ".key").toString());
    cmd.add(pki.resolve(DevCa.CA_CERT).toString());
    cmd.add(version);
    for (int i = 1; i < args.length; i++) {
      cmd.add(args[i]);
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
    byte[] out;
    byte[] err;
    try (InputStream o = p.getInputStream();
        InputStream e = p.getErrorStream()) {
      out = o.readAllBytes();
      err = e.readAllBytes();
    }
    assertTrue(p.waitFor(120, TimeUnit.SECONDS), "PyKMIP finished");
    String stdout = new String(out, StandardCharsets.UTF_8);
    assertEquals(
        0, p.exitValue(), "PyKMIP ran: " + stdout + new String(err, StandardCharsets.UTF_8));
    Map<String, JsonNode> steps = new LinkedHashMap<>();
    for (String line : stdout.split("\n")) {
      if (line.startsWith("{")) {
        JsonNode n = JSON.readTree(line);
        steps.put(n.get("step").asText(), n);
      }
    }
    return steps;
  }

  private static JsonNode ok(Map<String, JsonNode> steps, String step) {
    JsonNode n = steps.get(step);
    assertTrue(n != null, "step " + step + " ran: " + steps.keySet());
    assertTrue(n.get("ok").asBoolean(), step + " succeeded: " + n);
    return n.get("value");
  }

  private static JsonNode failed(Map<String, JsonNode> steps, String step, String reason) {
    JsonNode n = steps.get(step);
    assertTrue(n != null, "step " + step + " ran: " + steps.keySet());
    assertFalse(n.get("ok").asBoolean(), step + " must fail: " + n);
    assertTrue(
        n.get("reason").asText().contains(reason), step + " fails with " + reason + ": " + n);
    return n;
  }

  @ParameterizedTest
  @ValueSource(strings = {"1.2", "1.4", "2.0"})
  void everyOperationPyKmipSupports(String version) throws Exception {
    Map<String, JsonNode> s = pykmip("acme", version, "interop");
    assertTrue(ok(s, "discover").toString().contains("2.0"), "2.0 offered");
    assertTrue(ok(s, "query").toString().contains("LOCATE"), "Query lists Locate");
    ok(s, "create");
    JsonNode key = ok(s, "get");
    assertEquals(32, key.get("length").asInt());
    JsonNode attrs = ok(s, "attributes");
    assertTrue(attrs.toString().contains("PRE_ACTIVE"), "created Pre-Active: " + attrs);
    assertTrue(attrs.toString().contains("256"), "256 bits: " + attrs);
    assertTrue(ok(s, "attribute-list").toString().contains("State"));
    failed(
        s,
        "encrypt-pre-active",
        version.equals("2.0") ? "WRONG_KEY_LIFECYCLE_STATE" : "ILLEGAL_OPERATION");
    ok(s, "activate");
    assertTrue(ok(s, "state-after-activate").toString().contains("ACTIVE"));
    assertEquals(1, ok(s, "locate-by-name").size(), "one object of that name");
    assertTrue(ok(s, "locate-active-aes").asBoolean(), "found by state, algorithm and length");
    assertEquals(1, ok(s, "locate-max-items").asInt(), "Maximum Items 1");
    ok(s, "encrypt-cbc");
    assertEquals("sixteen bytes!!!+tail", ok(s, "decrypt-cbc").asText());
    if (version.equals("1.2")) {
      failed(s, "encrypt-gcm", "FEATURE_NOT_SUPPORTED");
    } else {
      ok(s, "encrypt-gcm");
      JsonNode fields = ok(s, "encrypt-gcm-fields");
      assertEquals(12, fields.get("iv").asInt(), "a 12-byte nonce made by the server");
      assertEquals(16, fields.get("tag").asInt(), "a 16-byte tag");
      assertEquals("attack at dawn", ok(s, "decrypt-gcm").asText());
      failed(s, "decrypt-gcm-tampered", "CRYPTOGRAPHIC_FAILURE");
    }
    ok(s, "register-key");
    assertTrue(ok(s, "get-registered").asBoolean(), "the registered key comes back as given");
    ok(s, "register-secret");
    ok(s, "activate-secret");
    assertTrue(ok(s, "get-secret").asBoolean(), "96-byte secret data comes back as given");
    ok(s, "check");
    failed(
        s,
        "check-sign",
        version.equals("2.0") ? "INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK" : "ILLEGAL_OPERATION");
    if (version.equals("2.0")) {
      ok(s, "set-attribute");
      ok(s, "modify-attribute");
      assertTrue(ok(s, "group-after-modify").toString().contains("it-group-2"));
      ok(s, "delete-attribute");
      assertEquals("{}", ok(s, "group-after-delete").toString(), "the group is gone");
    } else {
      ok(s, "modify-attribute");
      assertEquals(1, ok(s, "locate-renamed").size(), "found under its new name");
      ok(s, "delete-attribute");
      assertEquals("{}", ok(s, "names-after-delete").toString(), "the name is gone");
    }
    failed(
        s,
        "destroy-active",
        version.equals("2.0") ? "WRONG_KEY_LIFECYCLE_STATE" : "ILLEGAL_OPERATION");
    ok(s, "revoke");
    assertTrue(ok(s, "state-after-revoke").toString().contains("DEACTIVATED"));
    assertEquals("sixteen bytes!!!+tail", ok(s, "decrypt-deactivated").asText());
    failed(
        s,
        "encrypt-deactivated",
        version.equals("2.0") ? "WRONG_KEY_LIFECYCLE_STATE" : "ILLEGAL_OPERATION");
    ok(s, "destroy");
    failed(s, "get-destroyed", version.equals("2.0") ? "OBJECT_DESTROYED" : "ITEM_NOT_FOUND");
    assertTrue(ok(s, "state-after-destroy").toString().contains("DESTROYED"));
  }

  @Test
  void anotherTenantNeverSeesTheObjects() throws Exception {
    String uid = ok(pykmip("acme", "1.4", "create"), "create").asText();
    Map<String, JsonNode> globex = pykmip("globex", "1.4", "get", uid);
    failed(globex, "get", "ITEM_NOT_FOUND");
    assertFalse(ok(globex, "locate").toString().contains(uid), "not located by globex");
    assertEquals(64, ok(pykmip("acme", "1.4", "get", uid), "get").asText().length());
  }

  @Test
  void onlyApplicationsOfOurCaConnect() throws Exception {
    int before = stack.gateway().kmipServed();
    for (String client : List.of("", "foreign", "admin")) {
      Map<String, JsonNode> s = pykmip(client, "1.4", "create");
      JsonNode refused = s.containsKey("connect") ? s.get("connect") : s.get("create");
      assertFalse(refused.get("ok").asBoolean(), "client '" + client + "' refused: " + s);
    }
    assertEquals(before, stack.gateway().kmipServed(), "no request of theirs was answered");
    assertEquals(
        32, ok(pykmip("acme", "1.4", "create"), "create").asText().length(), "ours still are");
  }

  @Test
  void aKilledTenantIsRefusedAsOverGrpc() throws Exception {
    String uid = ok(pykmip("initech", "1.4", "create"), "create").asText();
    stack.admin(
        a ->
            a.killTenant(
                KillTenantRequest.newBuilder()
                    .setTenantId("initech")
                    .setReason("kmip test")
                    .setRequestedBy("it")
                    .build()));
    Map<String, JsonNode> after = pykmip("initech", "1.4", "get", uid);
    JsonNode refused = failed(after, "get", "PERMISSION_DENIED");
    assertTrue(refused.get("error").asText().contains("TENANT_KILLED"), refused.toString());
    failed(after, "locate", "PERMISSION_DENIED");
  }

  static String read(Path p) throws IOException {
    return Files.readString(p);
  }
}
