package org.openkcm.systemtest.kmip;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openkcm.core.testing.Bytes;
import org.openkcm.node.audit.AuditChain;
import org.openkcm.node.audit.AuditReader;
import org.openkcm.node.audit.PostgresAuditTrail;
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
  private static final String PG = "jdbc:postgresql://127.0.0.1:5432/test";
  private static final String SCHEMA = "okv_kmip_it_" + Long.toHexString(System.nanoTime());

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
    Config gateway =
        ConfigFactory.parseMap(
                Map.of(
                    "openkcm.gateway.kmip.store",
                    "postgres",
                    "openkcm.gateway.kmip.schema",
                    SCHEMA,
                    "openkcm.audit.trail.enabled",
                    true,
                    // few, short handshakes: the idle-socket flood below runs into both
                    "openkcm.gateway.kmip.max-handshakes",
                    4,
                    "openkcm.gateway.kmip.handshake-timeout",
                    "1s",
                    "openkcm.gateway.kmip.max-connections-per-owner",
                    2))
            .withFallback(tlsOn);
    stack = DemoStack.start(dir, "test", tlsOn, gateway);
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
  static void stop() throws Exception {
    if (stack != null) {
      stack.close();
    }
    try (var c = DriverManager.getConnection(PG, "postgres", "");
        var st = c.createStatement()) {
      st.execute("DROP SCHEMA IF EXISTS " + SCHEMA + " CASCADE");
      for (String t : List.of("acme", "globex", "initech", PostgresAuditTrail.NODE)) {
        st.execute("DROP SCHEMA IF EXISTS " + PostgresAuditTrail.schema(t) + " CASCADE");
      }
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
    Map<String, JsonNode> s =
        pykmip("acme", version, "interop", Long.toHexString(System.nanoTime()));
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

  /** The operation sequences of products that speak KMIP, each in the version it uses. */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "mongodb:1.2",
        "percona-mysql:1.4",
        "percona-mongodb:1.4",
        "vsphere:1.1",
        "veeam:1.4"
      })
  void productSequences(String product) throws Exception {
    String[] p = product.split(":");
    Map<String, JsonNode> s = pykmip("acme", p[1], p[0], Long.toHexString(System.nanoTime()));
    switch (p[0]) {
      case "mongodb" -> {
        ok(s, "register");
        ok(s, "activate");
        assertTrue(ok(s, "get").asBoolean(), "the 96-byte master key comes back");
        ok(s, "activate-kek");
        ok(s, "encrypt");
        assertTrue(ok(s, "decrypt").asBoolean(), "delegated encryption round trip");
      }
      case "percona-mysql" -> {
        assertTrue(ok(s, "query").toString().contains("REGISTER"));
        assertEquals(0, ok(s, "locate-absent").size());
        ok(s, "register");
        ok(s, "activate");
        assertTrue(ok(s, "locate").asBoolean(), "located by name");
        assertTrue(ok(s, "get").asBoolean());
        assertTrue(ok(s, "get-secret").asBoolean());
        ok(s, "revoke");
        ok(s, "destroy");
        assertEquals(0, ok(s, "locate-after-destroy").size(), "no active key of that name");
      }
      case "percona-mongodb" -> {
        ok(s, "register");
        ok(s, "activate");
        assertTrue(ok(s, "get").asBoolean());
        assertEquals("State.ACTIVE", ok(s, "state").asText());
      }
      case "vsphere" -> {
        ok(s, "create");
        assertEquals(32, ok(s, "get").asInt());
      }
      case "veeam" -> {
        assertTrue(ok(s, "same").asBoolean(), "Locate finds the key by name");
        assertEquals(32, ok(s, "get").asInt());
        ok(s, "activate");
        ok(s, "revoke");
        ok(s, "destroy");
        failed(s, "get-after-destroy", "ITEM_NOT_FOUND");
      }
      default -> throw new IllegalArgumentException(product);
    }
  }

  @Test
  void idleSocketsNeverLockClientsOutAndOnlyTheConfiguredTlsVersionIsOffered() throws Exception {
    // 20 sockets that never start a handshake (5 times max-handshakes): each is closed by the
    // gateway, at accept or after handshake-timeout, and never holds a connection slot
    List<java.net.Socket> idle = new ArrayList<>();
    try {
      for (int i = 0; i < 20; i++) {
        idle.add(new java.net.Socket(kmip.getAddress(), kmip.getPort()));
      }
      for (java.net.Socket s : idle) {
        s.setSoTimeout(5_000); // five times handshake-timeout
        try {
          // at most a TLS alert record, then the end of the stream
          assertTrue(s.getInputStream().readAllBytes().length < 64, "closed by the gateway");
        } catch (java.net.SocketTimeoutException e) {
          throw new AssertionError("an idle socket was still open after 5 s", e);
        } catch (java.net.SocketException reset) {
          // closed by the gateway before a byte was read
        }
      }
    } finally {
      for (java.net.Socket s : idle) {
        s.close();
      }
    }
    // a socket that trickles its ClientHello, a byte at a time inside the per-read timeout, is
    // closed at the handshake's total deadline all the same
    try (java.net.Socket trickle = new java.net.Socket(kmip.getAddress(), kmip.getPort())) {
      trickle.setSoTimeout(200);
      long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
      boolean closed = false;
      byte[] hello = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, (byte) 0xfc, 0x03, 0x03};
      for (int i = 0; !closed && System.nanoTime() < deadline; i++) {
        try {
          trickle.getOutputStream().write(hello[i % hello.length]);
          trickle.getOutputStream().flush();
          closed = trickle.getInputStream().read() == -1;
        } catch (java.net.SocketTimeoutException stillOpen) {
          // 200 ms without an answer: the next byte (well inside the 1 s per-read timeout)
        } catch (java.io.IOException gone) {
          closed = true;
        }
      }
      assertTrue(closed, "a trickling handshake was still open after 10 s");
    }
    ok(pykmip("acme", "1.4", "create"), "create"); // served right after the flood

    // openkcm.tls.protocols is TLS 1.3: a valid application that offers only TLS 1.2 gets no
    // handshake
    javax.net.ssl.SSLContext tls12 = acmeTls("TLSv1.2");
    try (javax.net.ssl.SSLSocket s =
        (javax.net.ssl.SSLSocket)
            tls12.getSocketFactory().createSocket(kmip.getAddress(), kmip.getPort())) {
      s.setEnabledProtocols(new String[] {"TLSv1.2"});
      s.setSoTimeout(5_000);
      javax.net.ssl.SSLException refused =
          assertThrows(javax.net.ssl.SSLException.class, s::startHandshake);
      assertTrue(String.valueOf(refused.getMessage()).contains("protocol"), refused.getMessage());
    }
  }

  @Test
  void oneApplicationCannotTakeEveryConnectionSlot() throws Exception {
    javax.net.ssl.SSLContext acme = acmeTls("TLSv1.3");
    List<javax.net.ssl.SSLSocket> held = new ArrayList<>();
    try {
      for (int i = 0; i < 3; i++) {
        javax.net.ssl.SSLSocket s =
            (javax.net.ssl.SSLSocket)
                acme.getSocketFactory().createSocket(kmip.getAddress(), kmip.getPort());
        s.setSoTimeout(300);
        s.startHandshake();
        held.add(s);
      }
      // the first two are held open by the gateway (it waits for a request) ...
      for (int i = 0; i < 2; i++) {
        javax.net.ssl.SSLSocket open = held.get(i);
        assertThrows(
            java.net.SocketTimeoutException.class, () -> open.getInputStream().read(), "open");
      }
      // ... the third of the same application is closed at once (max-connections-per-owner = 2)
      javax.net.ssl.SSLSocket third = held.get(2);
      third.setSoTimeout(5_000);
      boolean closed;
      try {
        closed = third.getInputStream().read() == -1;
      } catch (java.net.SocketTimeoutException e) {
        closed = false;
      } catch (java.io.IOException e) {
        closed = true;
      }
      assertTrue(closed, "a third connection of acme was kept");
      // another application is served meanwhile
      ok(pykmip("globex", "1.4", "create"), "create");
    } finally {
      for (javax.net.ssl.SSLSocket s : held) {
        s.close();
      }
    }
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

  @Test
  void theGatewaysDecisionsGoToTheTenantsVerifiedChain() throws Exception {
    ok(pykmip("acme", "1.4", "create"), "create");
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    List<String> records = new ArrayList<>();
    AuditChain.Verdict verdict = null;
    while (System.nanoTime() < deadline) { // the writer batches: poll the database, bounded
      records.clear();
      try (AuditReader r = new AuditReader(PG, "postgres", "")) {
        if (r.exists("acme")) {
          verdict = r.verify("acme");
          r.export("acme", java.util.Optional.empty(), records::add);
        }
      }
      if (records.stream().anyMatch(l -> l.contains("KmipCreate"))) {
        break;
      }
    }
    assertTrue(
        records.stream()
            .anyMatch(
                l -> l.contains("\"action\":\"KmipCreate\"") && l.contains("app/acme/billing")),
        "the gateway's decision is in acme's chain: " + records);
    assertTrue(verdict != null && verdict.ok(), String.valueOf(verdict));
  }

  @Test
  void noKeyMaterialInTheDatabase() throws Exception {
    Map<String, JsonNode> s = pykmip("acme", "1.4", "interop", Long.toHexString(System.nanoTime()));
    ok(s, "register-key");
    ok(s, "register-secret");
    byte[] key = new byte[16];
    byte[] secret = new byte[96];
    for (int i = 0; i < secret.length; i++) {
      secret[i] = (byte) i;
      if (i < key.length) {
        key[i] = (byte) i;
      }
    }
    int rows = 0;
    try (var c = DriverManager.getConnection(PG, "postgres", "");
        var st = c.createStatement();
        var rs = st.executeQuery("SELECT doc FROM " + SCHEMA + ".objects")) {
      while (rs.next()) {
        rows++;
        byte[] doc = rs.getBytes(1);
        assertFalse(contains(doc, key), "a registered key in the clear");
        assertFalse(
            contains(doc, Arrays.copyOf(secret, 24)), "registered secret data in the clear");
      }
    }
    assertTrue(rows >= 3, "the objects are in PostgreSQL: " + rows);
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    return Bytes.indexOf(haystack, needle) >= 0;
  }

  /** A TLS context presenting acme's application certificate, offering only {@code protocol}. */
  private static javax.net.ssl.SSLContext acmeTls(String protocol) {
    return org.openkcm.node.tls.MutualTls.load(
            new org.openkcm.node.tls.MutualTls.Settings(
                dir.resolve("clients").resolve("acme.crt"),
                dir.resolve("clients").resolve("acme.key"),
                pki.resolve(DevCa.CA_CERT),
                DOMAIN,
                List.of(protocol),
                Duration.ofSeconds(30)))
        .sslContext(java.util.Set.of("gateway"));
  }
}
