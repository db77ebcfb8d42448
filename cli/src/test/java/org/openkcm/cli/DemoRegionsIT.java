package org.openkcm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.Isolated;

/**
 * The README's two-region demo as a user runs it: {@code ./openkcm demo --regions 2} in a process
 * of its own, then the README's commands word for word, each a {@code ./openkcm} process of its
 * own. A data key generated in eu opens at us's gateway, eu's replicator names us connected, every
 * port of the README's command-table row has a listener, each Core presents its region's identity,
 * and SIGTERM stops the demo.
 *
 * <p>The README's commands use the demo's default ports (8710 ...), so nothing else may run beside
 * this class ({@link Isolated}; the ports are checked free before the demo starts).
 */
@Isolated("the README's commands use the demo's default ports")
class DemoRegionsIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

  // the README's commands as written there; DIR (the data dir) and B64 (the envelope) are filled in
  private static final String DEMO = "./openkcm demo --regions 2 --data-dir DIR";
  private static final String GENERATE =
      "./openkcm datakey generate --tenant acme --service payments --context order=42"
          + " --data-dir DIR";
  private static final String DECRYPT_IN_US =
      "./openkcm datakey decrypt --tenant acme --envelope B64 --context order=42"
          + " --gateway 127.0.0.1:8721 --tls-dir DIR/pki";
  private static final String ORBITAL_STATUS =
      "./openkcm admin orbital status --orbital 127.0.0.1:8730 --tls-dir DIR/pki";
  private static final String ROW = "| `./openkcm demo --regions 2 [--data-dir DIR]` |";

  /** What the demo prints once every region serves. */
  private static final String RUNNING = "OpenKCM demo is running";

  private static final Duration START = Duration.ofSeconds(120);
  private static final Duration COMMAND = Duration.ofSeconds(60);
  private static final Duration REPLICATION = Duration.ofSeconds(60);
  private static final Duration STOP = Duration.ofSeconds(30);

  private final Path log = Path.of("target", "demo-regions-it.log").toAbsolutePath();
  private Process demo;

  record Result(int exit, String out, String err) {}

  @AfterEach
  void stopTheDemo() {
    if (demo != null && demo.isAlive()) {
      demo.destroyForcibly();
    }
  }

  @Test
  void theReadmesTwoRegionDemoRunsAsWritten() throws Exception {
    String readme = Files.readString(ROOT.resolve("README.md"));
    for (String command : List.of(DEMO, GENERATE, DECRYPT_IN_US, ORBITAL_STATUS)) {
      assertTrue(readme.contains(command), "README.md shows: " + command);
    }
    List<Integer> ports = portsOfTheReadmeRow(readme);
    assertEquals(18, ports.size(), "9 listeners per region, each its own port: " + ports);
    for (int port : ports) {
      assertFree(port);
    }
    assertTrue(
        Files.exists(ROOT.resolve("cli/target/cli-0.1.0-SNAPSHOT.jar")),
        "./openkcm runs the packaged CLI (mvn verify packages it before the integration tests)");

    Path dir = Files.createTempDirectory("openkcm-demo-regions");
    Instant started = Instant.now();
    demo = command(DEMO, dir, "").redirectError(log.toFile()).start();
    awaitRunning(demo);
    Duration startup = Duration.between(started, Instant.now());

    for (int port : ports) {
      try (Socket s = new Socket()) {
        s.connect(new InetSocketAddress("127.0.0.1", port), 2_000);
      } catch (IOException e) {
        fail("nothing listens on " + port + ", a port the README gives the demo: " + e);
      }
    }
    assertEquals("spiffe://openkcm.local/core/eu", spiffeId(dir.resolve("pki/core-eu.crt")));
    assertEquals("spiffe://openkcm.local/core/us", spiffeId(dir.resolve("pki/core-us.crt")));

    Result generated = run(GENERATE, dir, "");
    assertEquals(0, generated.exit(), generated.err());
    JsonNode key = JSON.readTree(generated.out());

    // us opens it once Orbital has shipped the tenant there
    Instant deadline = Instant.now().plus(REPLICATION);
    Result opened;
    int attempts = 0;
    do {
      opened = run(DECRYPT_IN_US, dir, key.get("envelope").asText());
      attempts++;
    } while (opened.exit() != 0 && Instant.now().isBefore(deadline));
    assertEquals(0, opened.exit(), opened.err());
    assertEquals(
        key.get("plaintext").asText(),
        JSON.readTree(opened.out()).get("plaintext").asText(),
        "us's gateway opened eu's envelope");

    deadline = Instant.now().plus(REPLICATION);
    Result status;
    do {
      status = run(ORBITAL_STATUS, dir, "");
    } while (!usConnected(status) && Instant.now().isBefore(deadline));
    assertTrue(usConnected(status), status.out() + status.err());
    assertEquals("eu", JSON.readTree(status.out()).get("region").asText());

    demo.destroy(); // SIGTERM: Ctrl+C's SIGINT is ignored when the build runs in the background
    assertTrue(demo.waitFor(STOP.toSeconds(), TimeUnit.SECONDS), "the demo stopped");
    assertEquals(143, demo.exitValue(), "stopped by the signal, through its shutdown hook");
    assertTrue(Files.readString(log).contains("openkcm demo: stopping"));
    System.out.printf(
        "DemoRegionsIT: both regions running %d s after ./openkcm demo --regions 2; opened in us"
            + " at attempt %d; whole test %d s%n",
        startup.toSeconds(), attempts, Duration.between(started, Instant.now()).toSeconds());
  }

  /** Every port the README's command-table row for {@code demo --regions 2} names. */
  private static List<Integer> portsOfTheReadmeRow(String readme) {
    String row =
        readme
            .lines()
            .filter(l -> l.startsWith(ROW))
            .findFirst()
            .orElseThrow(() -> new AssertionError("README.md has no row " + ROW));
    List<Integer> ports = new ArrayList<>();
    Matcher m = Pattern.compile("\\b\\d{4,5}\\b").matcher(row);
    while (m.find()) {
      ports.add(Integer.parseInt(m.group()));
    }
    return ports.stream().distinct().toList();
  }

  private static void assertFree(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.bind(new InetSocketAddress("127.0.0.1", port));
    } catch (IOException e) {
      fail(
          "port "
              + port
              + " is taken by another process; this test runs the README's demo on its default"
              + " ports: "
              + e.getMessage());
    }
  }

  /** Waits (bounded) for the demo's line saying it runs; fails with its log when it exits. */
  private void awaitRunning(Process p) throws Exception {
    CompletableFuture<Void> running = new CompletableFuture<>();
    Thread reader =
        new Thread(
            () -> {
              try (BufferedReader r =
                  new BufferedReader(
                      new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                  if (line.startsWith(RUNNING)) {
                    running.complete(null);
                  }
                }
                running.completeExceptionally(new IllegalStateException("the demo exited"));
              } catch (IOException e) {
                running.completeExceptionally(e);
              }
            },
            "demo-stdout");
    reader.setDaemon(true);
    reader.start();
    try {
      running.get(START.toSeconds(), TimeUnit.SECONDS);
    } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
      fail(
          "./openkcm demo --regions 2 did not print '"
              + RUNNING
              + "' ("
              + e
              + "); its log "
              + log
              + " ends with:\n"
              + tail(log));
    }
  }

  private static boolean usConnected(Result status) {
    if (status.exit() != 0) {
      return false;
    }
    try {
      for (JsonNode peer : JSON.readTree(status.out()).get("peers")) {
        if (peer.get("peer").asText().equals("us") && peer.get("connected").asBoolean()) {
          return true;
        }
      }
      return false;
    } catch (IOException e) {
      throw new AssertionError(status.out(), e);
    }
  }

  /** {@code template} (a README command) with DIR and B64 filled in, run in the checkout. */
  private static ProcessBuilder command(String template, Path dir, String envelope) {
    String[] words = template.replace("DIR", dir.toString()).replace("B64", envelope).split(" ");
    ProcessBuilder pb = new ProcessBuilder(Arrays.asList(words)).directory(ROOT.toFile());
    // Maven packaged what runs here just before the integration tests: no build of its own
    pb.environment().put("OPENKCM_BUILD", "off");
    return pb;
  }

  private static Result run(String template, Path dir, String envelope) throws Exception {
    Path out = Files.createTempFile("openkcm-cli", ".out");
    Path err = Files.createTempFile("openkcm-cli", ".err");
    Process p =
        command(template, dir, envelope)
            .redirectOutput(out.toFile())
            .redirectError(err.toFile())
            .start();
    if (!p.waitFor(COMMAND.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail(template + " did not finish within " + COMMAND);
    }
    Result r =
        new Result(p.exitValue(), Files.readString(out).strip(), Files.readString(err).strip());
    Files.delete(out);
    Files.delete(err);
    return r;
  }

  private static String spiffeId(Path certFile) throws Exception {
    try (var in = Files.newInputStream(certFile)) {
      X509Certificate cert =
          (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
      return cert.getSubjectAlternativeNames().stream()
          .filter(san -> (Integer) san.get(0) == 6) // uniformResourceIdentifier
          .map(san -> (String) san.get(1))
          .findFirst()
          .orElseThrow();
    }
  }

  /** The last lines of {@code file}, stack frames left out. */
  private static String tail(Path file) {
    try {
      List<String> lines =
          Files.readAllLines(file).stream()
              .filter(l -> !l.startsWith("\tat ") && !l.startsWith("\t..."))
              .toList();
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "(unreadable: " + e.getMessage() + ")";
    }
  }
}
