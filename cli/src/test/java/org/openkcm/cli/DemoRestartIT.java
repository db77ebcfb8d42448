package org.openkcm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.openkcm.systemtest.DemoStack;

/**
 * The demo profile keeps what it promises: a key made with {@code ./openkcm key create} (kept in
 * the gateway's vault) is still there after the demo stack restarts on the same data dir, because
 * the demo's vault is an H2 file under that dir, not memory.
 */
class DemoRestartIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static DemoStack demo(Path dir) throws Exception {
    DemoStack stack =
        DemoStack.start(
            dir,
            "demo",
            ConfigFactory.parseMap(
                Map.of(
                    "openkcm.core.grpc.port", 0,
                    "pekko.remote.artery.canonical.port", 0,
                    "openkcm.console.port", 0,
                    "pekko.management.http.port", 0)),
            ConfigFactory.parseMap(
                Map.of(
                    "openkcm.gateway.grpc.port",
                    0,
                    "openkcm.gateway.kmip.port",
                    0,
                    "pekko.management.http.port",
                    0)));
    stack.ensureTenant("acme", "devfile:acme-root", "payments");
    Endpoints.now(
            hostPort(stack.core().grpcAddress()),
            hostPort(stack.gateway().grpcAddress()),
            "demo",
            dir,
            stack.clientTls().map(t -> t.settings().certFile().toAbsolutePath().getParent()))
        .write(dir);
    return stack;
  }

  @Test
  void aVaultKeyOutlivesARestartOfTheDemo() throws Exception {
    Path dir = Files.createTempDirectory("openkcm-demo-restart");
    String d = dir.toString();
    String id;
    String plaintext;
    try (DemoStack stack = demo(dir)) {
      JsonNode created =
          ok(
              "key",
              "create",
              "--tenant",
              "acme",
              "--service",
              "payments",
              "--subject",
              "alice",
              "--data-dir",
              d);
      id = created.get("keyId").asText();
      plaintext = created.get("plaintext").asText();
    }
    assertTrue(
        Files.list(dir.resolve("vault")).anyMatch(f -> f.getFileName().toString().endsWith(".db")),
        "the vault is a file under the data dir");
    try (DemoStack restarted = demo(dir)) {
      assertEquals(
          plaintext,
          ok("key", "get", "--tenant", "acme", "--service", "payments", "--id", id, "--data-dir", d)
              .get("plaintext")
              .asText(),
          "the key came back after the restart");
    }
  }

  private static String hostPort(InetSocketAddress a) {
    return a.getHostString() + ":" + a.getPort();
  }

  private static JsonNode ok(String... args) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Cli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    assertEquals(0, exit, err.toString());
    return JSON.readTree(out.toString());
  }
}
