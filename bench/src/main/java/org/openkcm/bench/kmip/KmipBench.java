package org.openkcm.bench.kmip;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.openkcm.node.tls.DevCa;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.systemtest.DemoStack;

/**
 * KMIP side by side, in one run: the PyKMIP client against the PyKMIP server ({@code
 * pykmip-server}, same Debian package) and against our gateway, Create+Get+Destroy cycles and Get
 * alone, 1 and 16 concurrent clients; then our Java load driver against our gateway alone (where
 * the Python client is the bottleneck). Each cell is the median of {@code --runs} runs.
 *
 * <pre>
 * java -cp 'bench/target/bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*' org.openkcm.bench.kmip.KmipBench \
 *     [--seconds 8] [--runs 3] [--clients 1,16] [--store memory|postgres] [--cache off|on]
 * </pre>
 */
public final class KmipBench {

  private static final String PYTHON = "/usr/bin/python3";
  private static final String DOMAIN = "openkcm.local";

  private KmipBench() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      opts.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    double seconds = Double.parseDouble(opts.getOrDefault("seconds", "8"));
    int runs = Integer.parseInt(opts.getOrDefault("runs", "3"));
    List<Integer> clientCounts =
        java.util.Arrays.stream(opts.getOrDefault("clients", "1,16").split(","))
            .map(Integer::parseInt)
            .toList();
    Path dir = Files.createTempDirectory("openkcm-kmip-bench");
    Path pki = dir.resolve("pki");
    Config tlsOn = ConfigFactory.parseMap(Map.of("openkcm.tls.enabled", true));
    Config gateway =
        ConfigFactory.parseMap(
                Map.of(
                    "openkcm.gateway.kmip.store",
                    opts.getOrDefault("store", "memory"),
                    "openkcm.gateway.cache.enabled",
                    opts.getOrDefault("cache", "off").equals("on")))
            .withFallback(tlsOn);
    try (DemoStack stack = DemoStack.start(dir, "test", tlsOn, gateway)) {
      stack.ensureTenant("acme", "devfile:acme-root", "payments");
      DevCa ca = DevCa.loadOrCreate(pki, DOMAIN);
      Path clients = dir.resolve("clients");
      ca.issue(
          SpiffeId.parse("spiffe://" + DOMAIN + "/app/acme/payments"),
          Instant.now().minusSeconds(60),
          Instant.now().plus(Duration.ofDays(1)),
          clients.resolve("app.crt"),
          clients.resolve("app.key"));
      ca.issue(
          SpiffeId.parse("spiffe://" + DOMAIN + "/gateway/pykmip"),
          Instant.now().minusSeconds(60),
          Instant.now().plus(Duration.ofDays(1)),
          clients.resolve("pykmip.crt"),
          clients.resolve("pykmip.key"));
      InetSocketAddress ours = stack.gateway().kmipAddress().orElseThrow();
      int theirPort = freePort();
      Process theirs = startPyKmipServer(dir, clients, pki, theirPort);
      try {
        Path script = dir.resolve("pykmip_load.py");
        try (InputStream in = KmipBench.class.getResourceAsStream("/kmip/pykmip_load.py")) {
          Files.copy(in, script);
        }
        MutualTls appTls =
            MutualTls.load(
                new MutualTls.Settings(
                    clients.resolve("app.crt"),
                    clients.resolve("app.key"),
                    pki.resolve(DevCa.CA_CERT),
                    DOMAIN,
                    List.of("TLSv1.3", "TLSv1.2"),
                    Duration.ofSeconds(30)));
        System.out.printf(
            "KMIP, %s s per run, median of %d runs (req/s; p50 / p99 ms per request); store %s,"
                + " gateway DEK cache %s%n",
            seconds, runs, opts.getOrDefault("store", "memory"), opts.getOrDefault("cache", "off"));
        System.out.printf(
            "%-9s %7s | %-28s | %-28s | %-28s%n",
            "workload",
            "clients",
            "PyKMIP -> pykmip-server",
            "PyKMIP -> OpenKCM",
            "Java driver -> OpenKCM");
        for (String workload : List.of("cycle", "get")) {
          for (int n : clientCounts) {
            List<double[]> a = new ArrayList<>();
            List<double[]> b = new ArrayList<>();
            List<double[]> c = new ArrayList<>();
            for (int r = 0; r < runs; r++) {
              a.add(python(script, "127.0.0.1", theirPort, clients, pki, workload, n, seconds));
              b.add(
                  python(
                      script,
                      ours.getHostString(),
                      ours.getPort(),
                      clients,
                      pki,
                      workload,
                      n,
                      seconds));
              KmipLoad.Result j =
                  KmipLoad.run(appTls.sslContext(Set.of("gateway")), ours, workload, n, seconds);
              c.add(new double[] {j.rps(), j.p50Millis(), j.p99Millis()});
            }
            System.out.printf(
                "%-9s %7d | %-28s | %-28s | %-28s%n", workload, n, cell(a), cell(b), cell(c));
          }
        }
      } finally {
        theirs.destroy();
        theirs.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /** The run with the median req/s: "rps (p50 / p99)". */
  private static String cell(List<double[]> runs) {
    List<double[]> sorted = new ArrayList<>(runs);
    sorted.sort((x, y) -> Double.compare(x[0], y[0]));
    double[] m = sorted.get(sorted.size() / 2);
    return String.format(Locale.ROOT, "%8.1f (%.2f / %.2f)", m[0], m[1], m[2]);
  }

  private static double[] python(
      Path script,
      String host,
      int port,
      Path clients,
      Path pki,
      String workload,
      int n,
      double seconds)
      throws Exception {
    Process p =
        new ProcessBuilder(
                PYTHON,
                script.toString(),
                host,
                String.valueOf(port),
                clients.resolve("app.crt").toString(),
                clients.resolve("app.key").toString(),
                pki.resolve(DevCa.CA_CERT).toString(),
                "1.2",
                workload,
                String.valueOf(n),
                String.valueOf(seconds))
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(5, TimeUnit.MINUTES);
    JsonNode r =
        new ObjectMapper()
            .readTree(
                out.lines()
                    .filter(l -> l.startsWith("{"))
                    .findFirst()
                    .orElseThrow(
                        () -> new IllegalStateException("pykmip_load printed no result: " + out)));
    if (r.get("errors").asLong() > 0) {
      System.out.println(
          "  (" + r.get("errors") + " errors in " + host + ":" + port + " " + workload + ")");
    }
    return new double[] {
      r.get("rps").asDouble(), r.get("p50_ms").asDouble(), r.get("p99_ms").asDouble()
    };
  }

  private static Process startPyKmipServer(Path dir, Path clients, Path pki, int port)
      throws Exception {
    Path home = dir.resolve("pykmip-server");
    Files.createDirectories(home.resolve("policies"));
    Path conf = home.resolve("server.conf");
    Files.writeString(
        conf,
        String.join(
            "\n",
            "[server]",
            "hostname=127.0.0.1",
            "port=" + port,
            "certificate_path=" + clients.resolve("pykmip.crt"),
            "key_path=" + clients.resolve("pykmip.key"),
            "ca_path=" + pki.resolve(DevCa.CA_CERT),
            "auth_suite=TLS1.2",
            "policy_path=" + home.resolve("policies"),
            "enable_tls_client_auth=False",
            "logging_level=WARNING",
            "database_path=" + home.resolve("db.sqlite"),
            ""));
    Process p =
        new ProcessBuilder(
                "pykmip-server", "-f", conf.toString(), "-l", home.resolve("server.log").toString())
            .redirectErrorStream(true)
            .redirectOutput(home.resolve("out.log").toFile())
            .start();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
        return p;
      } catch (java.io.IOException e) {
        if (!p.isAlive()) {
          throw new IllegalStateException(
              "pykmip-server exited: " + Files.readString(home.resolve("out.log")));
        }
        Thread.sleep(100);
      }
    }
    throw new IllegalStateException("pykmip-server did not listen on " + port);
  }

  private static int freePort() {
    return org.openkcm.node.net.FreePorts.pick();
  }
}
