package org.openkcm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.openkcm.systemtest.DemoStack;

/**
 * The command line against the demo stack on its embedded defaults (H2 journal and development
 * keystore under a temporary data dir), including a restart on the same data dir.
 */
class CliIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  record Result(int exit, String out, String err) {}

  private static Result cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Cli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Result(exit, out.toString().strip(), err.toString().strip());
  }

  private static DemoStack startDemo(Path dir) throws Exception {
    DemoStack stack = DemoStack.start(dir, "test", ConfigFactory.empty(), ConfigFactory.empty());
    stack.ensureTenant("acme", "devfile:acme-root", "payments");
    Endpoints.now(
            hostPort(stack.core().grpcAddress()),
            hostPort(stack.gateway().grpcAddress()),
            "test",
            dir,
            java.util.Optional.empty())
        .write(dir);
    return stack;
  }

  @Test
  void generateThenDecryptThroughTheCliSurvivesARestartOnTheSameDataDir() throws Exception {
    Path dir = Files.createTempDirectory("openkcm-cli");
    String d = dir.toString();
    String envelope;
    String plaintext;
    try (DemoStack stack = startDemo(dir)) {
      Result gen =
          cli(
              "datakey",
              "generate",
              "--tenant",
              "acme",
              "--service",
              "payments",
              "--context",
              "order=42",
              "--data-dir",
              d);
      assertEquals(0, gen.exit(), gen.err());
      JsonNode g = JSON.readTree(gen.out());
      envelope = g.get("envelope").asText();
      plaintext = g.get("plaintext").asText();
      assertEquals(1, g.get("l3Version").asInt());
      assertEquals(1, gen.out().lines().count(), "one line of JSON");

      Result dec =
          cli(
              "datakey",
              "decrypt",
              "--tenant",
              "acme",
              "--envelope",
              envelope,
              "--context",
              "order=42",
              "--gateway",
              hostPort(stack.gateway().grpcAddress()));
      assertEquals(0, dec.exit(), dec.err());
      assertEquals(plaintext, JSON.readTree(dec.out()).get("plaintext").asText());

      Result show = cli("admin", "tenant", "show", "--tenant", "acme", "--data-dir", d);
      assertEquals(0, show.exit(), show.err());
      assertEquals(1, JSON.readTree(show.out()).get("services").get("payments").asInt());
    }

    try (DemoStack restarted = startDemo(dir)) {
      Result dec =
          cli(
              "datakey",
              "decrypt",
              "--tenant",
              "acme",
              "--envelope",
              envelope,
              "--context",
              "order=42",
              "--data-dir",
              d);
      assertEquals(0, dec.exit(), dec.err());
      assertEquals(
          plaintext,
          JSON.readTree(dec.out()).get("plaintext").asText(),
          "keys survived the restart");
    }
  }

  @Test
  void failuresAreOneLineWithTheReasonAndExitCodeOne() throws Exception {
    Path dir = Files.createTempDirectory("openkcm-cli");
    try (DemoStack stack = startDemo(dir)) {
      String d = dir.toString();
      Map<String[], String> cases =
          Map.of(
              new String[] {
                "datakey",
                "decrypt",
                "--tenant",
                "acme",
                "--envelope",
                "not base64!",
                "--data-dir",
                d
              },
              "error: INVALID_ARGUMENT:",
              new String[] {
                "datakey", "decrypt", "--tenant", "acme", "--envelope", "AAAA", "--data-dir", d
              },
              "error: ENVELOPE_BAD_MAGIC:",
              new String[] {
                "datakey",
                "generate",
                "--tenant",
                "nobody",
                "--service",
                "payments",
                "--data-dir",
                d
              },
              "error: TENANT_NOT_FOUND:",
              new String[] {
                "admin",
                "service",
                "create",
                "--tenant",
                "acme",
                "--service",
                "payments",
                "--data-dir",
                d
              },
              "error: SERVICE_ALREADY_EXISTS:",
              new String[] {
                "datakey",
                "generate",
                "--tenant",
                "acme",
                "--service",
                "payments",
                "--gateway",
                "nonsense"
              },
              "error: INVALID_ARGUMENT:");
      cases.forEach(
          (args, prefix) -> {
            Result r = cli(args);
            assertEquals(1, r.exit(), String.join(" ", args));
            assertEquals(1, r.err().lines().count(), r.err());
            assertTrue(r.err().startsWith(prefix), r.err());
            assertEquals("", r.out());
          });
    }
  }

  @Test
  void missingEndpointsFileSaysToStartTheDemo() throws Exception {
    Path empty = Files.createTempDirectory("openkcm-cli-empty");
    Result r =
        cli(
            "datakey",
            "generate",
            "--tenant",
            "acme",
            "--service",
            "payments",
            "--data-dir",
            empty.toString());
    assertEquals(1, r.exit());
    assertTrue(r.err().contains("openkcm demo"), r.err());
  }

  @Test
  void usageErrorsExitWithTwo() {
    assertEquals(2, cli("datakey", "generate", "--tenant", "acme").exit());
  }

  private static String hostPort(java.net.InetSocketAddress a) {
    return a.getHostString() + ":" + a.getPort();
  }
}
