package org.openkcm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openkcm.systemtest.DemoStack;

/**
 * Rotation and rewrap through the command line, against the demo stack: {@code admin rotate},
 * {@code tenant show} listing versions, {@code datakey generate --count --out} (envelopes only on
 * disk), and {@code datakey rewrap} of a whole file — context kept, a wrong context refused per
 * line, an interrupted run resumed.
 */
class KeyLifecycleCliIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static Path dir;
  private static DemoStack stack;

  record Result(int exit, String out, String err) {}

  private static Result cli(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Cli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Result(exit, out.toString().strip(), err.toString().strip());
  }

  private static JsonNode ok(String... args) throws Exception {
    Result r = cli(args);
    assertEquals(0, r.exit(), String.join(" ", args) + ": " + r.err());
    List<String> lines = r.out().lines().toList();
    return JSON.readTree(lines.get(lines.size() - 1));
  }

  @BeforeAll
  static void start() throws Exception {
    dir = Files.createTempDirectory("openkcm-lifecycle-cli");
    stack = DemoStack.start(dir, "test", ConfigFactory.empty(), ConfigFactory.empty());
    stack.ensureTenant("acme", "devfile:acme-root", "payments");
    Endpoints.now(
            hostPort(stack.core().grpcAddress()),
            hostPort(stack.gateway().grpcAddress()),
            "test",
            dir,
            java.util.Optional.empty())
        .write(dir);
  }

  @AfterAll
  static void stop() {
    if (stack != null) {
      stack.close();
    }
  }

  @Test
  void rotateThenRewrapAFileKeepingContextsAndResumingAfterAnInterruption() throws Exception {
    String d = dir.toString();
    Path generated = dir.resolve("generated.jsonl");
    JsonNode gen =
        ok(
            "datakey",
            "generate",
            "--tenant",
            "acme",
            "--service",
            "payments",
            "--context",
            "order=7",
            "--count",
            "1200",
            "--out",
            generated.toString(),
            "--data-dir",
            d);
    assertEquals(1200, gen.get("generated").asInt());
    List<String> lines = Files.readAllLines(generated, StandardCharsets.UTF_8);
    assertEquals(1200, lines.size());
    assertFalse(lines.get(0).contains("plaintext"), "no data key on disk");

    JsonNode rotated =
        ok("admin", "rotate", "--tenant", "acme", "--service", "payments", "--data-dir", d);
    JsonNode versions = rotated.get("l3Versions").get("payments");
    assertEquals(2, versions.size());
    assertEquals("decrypt-only", versions.get(0).get("state").asText());
    assertEquals("active", versions.get(1).get("state").asText());
    assertTrue(versions.get(0).get("wraps").asLong() >= 1200, versions.toString());

    // one line with the wrong context, which must fail alone
    JsonNode first = JSON.readTree(lines.get(0));
    String wrong =
        "{\"envelope\":\"" + first.get("envelope").asText() + "\",\"context\":{\"order\":\"8\"}}";
    Path in = dir.resolve("in.jsonl");
    List<String> input = new java.util.ArrayList<>(lines);
    input.add(wrong);
    Files.write(in, input, StandardCharsets.UTF_8);

    // an "interrupted" earlier run: the first 500 lines are already written
    Path out = dir.resolve("out.jsonl");
    Path partial = dir.resolve("partial.jsonl");
    JsonNode head =
        okOrFailed(
            "datakey",
            "rewrap",
            "--tenant",
            "acme",
            "--in",
            in.toString(),
            "--out",
            partial.toString(),
            "--batch",
            "250",
            "--data-dir",
            d);
    assertEquals(1200, head.get("rewrapped").asInt());
    Files.write(
        out,
        Files.readAllLines(partial, StandardCharsets.UTF_8).subList(0, 500),
        StandardCharsets.UTF_8);

    JsonNode summary =
        okOrFailed(
            "datakey",
            "rewrap",
            "--tenant",
            "acme",
            "--in",
            in.toString(),
            "--out",
            out.toString(),
            "--batch",
            "250",
            "--data-dir",
            d);
    assertEquals(500, summary.get("resumedAfter").asInt());
    assertEquals(700, summary.get("rewrapped").asInt());
    assertEquals(1, summary.get("failed").get("ENVELOPE_AUTHENTICATION_FAILED").asInt());
    List<String> result = Files.readAllLines(out, StandardCharsets.UTF_8);
    assertEquals(1201, result.size(), "one output line per input line");
    assertTrue(result.get(1200).contains("ENVELOPE_AUTHENTICATION_FAILED"), result.get(1200));

    // a rewrapped envelope is under v2 and opens with its original context only
    JsonNode line = JSON.readTree(result.get(1199));
    assertEquals(2, line.get("l3Version").asInt());
    String envelope = line.get("envelope").asText();
    ok(
        "datakey",
        "decrypt",
        "--tenant",
        "acme",
        "--envelope",
        envelope,
        "--context",
        "order=7",
        "--data-dir",
        d);
    Result refused =
        cli(
            "datakey",
            "decrypt",
            "--tenant",
            "acme",
            "--envelope",
            envelope,
            "--context",
            "order=8",
            "--data-dir",
            d);
    assertEquals(1, refused.exit());
    assertTrue(refused.err().contains("ENVELOPE_AUTHENTICATION_FAILED"), refused.err());

    JsonNode single =
        ok(
            "datakey",
            "rewrap",
            "--tenant",
            "acme",
            "--envelope",
            first.get("envelope").asText(),
            "--context",
            "order=7",
            "--data-dir",
            d);
    assertEquals(2, single.get("l3Version").asInt());
  }

  @Test
  void anL2RotationThroughTheCliKeepsEveryEnvelopeOpening() throws Exception {
    String d = dir.toString();
    JsonNode gen =
        ok("datakey", "generate", "--tenant", "acme", "--service", "payments", "--data-dir", d);
    int before =
        ok("admin", "tenant", "show", "--tenant", "acme", "--data-dir", d).get("l2Version").asInt();
    JsonNode rotated = ok("admin", "rotate", "--tenant", "acme", "--l2", "--data-dir", d);
    assertEquals(before + 1, rotated.get("l2Version").asInt());
    JsonNode opened =
        ok(
            "datakey",
            "decrypt",
            "--tenant",
            "acme",
            "--envelope",
            gen.get("envelope").asText(),
            "--data-dir",
            d);
    assertEquals(gen.get("plaintext").asText(), opened.get("plaintext").asText());
  }

  /** The summary line of a file rewrap (exit 1 when some lines failed). */
  private static JsonNode okOrFailed(String... args) throws Exception {
    Result r = cli(args);
    assertTrue(r.exit() == 0 || r.exit() == 1, r.err());
    List<String> lines = r.out().lines().toList();
    assertFalse(lines.isEmpty(), r.err());
    return JSON.readTree(lines.get(lines.size() - 1));
  }

  private static String hostPort(java.net.InetSocketAddress a) {
    return a.getHostString() + ":" + a.getPort();
  }
}
