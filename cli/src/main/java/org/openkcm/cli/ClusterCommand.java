package org.openkcm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.openkcm.node.config.NodeConfig;
import org.openkcm.node.tls.NodeTls;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ./openkcm cluster up|status|down}: a real multi-process deployment on one machine — each
 * Core node and gateway its own JVM ({@code ./openkcm core|gateway --profile dev}, the
 * configuration the manifests use), the journal on the local PostgreSQL, mTLS from a development
 * CA, every node with its own management listener. {@code up} waits until every node is ready and
 * writes {@code cluster.json} (nodes, pids, ports) and {@code endpoints.json} under the data dir,
 * so the other commands reach the cluster with {@code --data-dir}.
 */
@Command(
    name = "cluster",
    mixinStandardHelpOptions = true,
    description = "Run a multi-process Core cluster and gateways on this machine.",
    subcommands = {ClusterCommand.Up.class, ClusterCommand.Status.class, ClusterCommand.Down.class})
final class ClusterCommand {

  static final String STATE = "cluster.json";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** One node as {@code cluster.json} keeps it. */
  record Node(String name, String role, long pid, int grpc, int management, String log) {}

  /** What {@code up} started. */
  record State(String profile, String journalUrl, String started, List<Node> nodes) {}

  private ClusterCommand() {}

  static Path stateFile(Path dir) {
    return dir.resolve(STATE);
  }

  static Optional<State> read(Path dir) {
    Path f = stateFile(dir);
    if (!Files.exists(f)) {
      return Optional.empty();
    }
    try {
      return Optional.of(JSON.readValue(f.toFile(), State.class));
    } catch (IOException e) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, f + " is not a cluster state file: " + e.getMessage());
    }
  }

  static boolean alive(Node n) {
    return ProcessHandle.of(n.pid()).map(ProcessHandle::isAlive).orElse(false);
  }

  /** GET /ready on the node's management listener: empty when ready, else why not. */
  static Optional<String> notReady(Node n) {
    if (!alive(n)) {
      return Optional.of("process " + n.pid() + " is gone");
    }
    try {
      HttpResponse<String> r =
          HTTP.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + n.management() + "/ready"))
                  .timeout(Duration.ofSeconds(3))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? Optional.empty() : Optional.of(r.body().strip());
    } catch (IOException e) {
      return Optional.of("management not answering");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.of("interrupted");
    }
  }

  /**
   * Tenants this Core node hosts (its shard region's entities), "-" for gateways or when unknown.
   */
  static String tenants(Node n) {
    if (!n.role().equals("core") || !alive(n)) {
      return "-";
    }
    try {
      HttpResponse<String> r =
          HTTP.send(
              HttpRequest.newBuilder(
                      URI.create("http://127.0.0.1:" + n.management() + "/cluster/shards/Tenant"))
                  .timeout(Duration.ofSeconds(3))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        return "-";
      }
      int sum = 0;
      for (JsonNode region : JSON.readTree(r.body()).path("regions")) {
        sum += region.path("numEntities").asInt();
      }
      return Integer.toString(sum);
    } catch (IOException e) {
      return "-";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "-";
    }
  }

  static void printTable(PrintWriter out, State state) {
    out.printf(
        "%-10s %-8s %-8s %-16s %-6s %-8s %s%n",
        "NODE", "ROLE", "PID", "ADDRESS", "READY", "TENANTS", "");
    for (Node n : state.nodes()) {
      Optional<String> why = notReady(n);
      out.printf(
          "%-10s %-8s %-8d %-16s %-6s %-8s %s%n",
          n.name(),
          n.role(),
          n.pid(),
          "127.0.0.1:" + n.grpc(),
          why.isEmpty() ? "yes" : "no",
          tenants(n),
          why.map(w -> "(" + w + ")").orElse(""));
    }
    out.flush();
  }

  static int freePort() {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Command(
      name = "up",
      mixinStandardHelpOptions = true,
      description =
          "Start N Core nodes and M gateways, each its own JVM (profile dev: PostgreSQL journal,"
              + " mTLS from a development CA), wait until every one is ready, print a status table.")
  static final class Up implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--core-nodes", defaultValue = "3", description = "Core nodes (1-7).")
    int coreNodes;

    @Option(names = "--gateways", defaultValue = "2", description = "Gateways (0-8).")
    int gateways;

    @Option(
        names = "--data-dir",
        defaultValue = "./cluster-data",
        description = "Shared data directory (development CA, development L1 keys, logs, state).")
    Path dataDir;

    @Option(
        names = "--jdbc-url",
        defaultValue = "jdbc:postgresql://127.0.0.1:5432/test?currentSchema=openkcm_cluster",
        description = "The journal (PostgreSQL; its currentSchema is created when missing).")
    String jdbcUrl;

    @Option(
        names = "--ready-timeout",
        defaultValue = "180s",
        description = "How long to wait for every node to be ready.")
    String readyTimeout;

    @Override
    public Integer call() throws Exception {
      if (coreNodes < 1 || coreNodes > 7) {
        throw new OpenKcmException(
            ErrorReason.INVALID_ARGUMENT, "--core-nodes must be 1-7, was " + coreNodes);
      }
      if (gateways < 0 || gateways > 8) {
        throw new OpenKcmException(
            ErrorReason.INVALID_ARGUMENT, "--gateways must be 0-8, was " + gateways);
      }
      Path dir = dataDir.toAbsolutePath().normalize();
      Files.createDirectories(dir.resolve("logs"));
      Optional<State> running = read(dir);
      if (running.isPresent() && running.get().nodes().stream().anyMatch(ClusterCommand::alive)) {
        throw new OpenKcmException(
            ErrorReason.INVALID_ARGUMENT,
            "a cluster is already running from "
                + dir
                + " (./openkcm cluster status, ./openkcm cluster down)");
      }
      Duration timeout = ConfigFactory.parseString("t = " + readyTimeout).getDuration("t");
      PrintWriter err = spec.commandLine().getErr();
      int[] grpc = new int[coreNodes];
      int[] artery = new int[coreNodes];
      for (int i = 0; i < coreNodes; i++) {
        grpc[i] = freePort();
        artery[i] = freePort();
      }
      int[] keys = new int[coreNodes];
      for (int i = 0; i < coreNodes; i++) {
        keys[i] = freePort();
      }
      int[] management = new int[coreNodes];
      for (int i = 0; i < coreNodes; i++) {
        management[i] = freePort();
      }
      // What the nodes would otherwise race to create in the shared data dir: the development CA
      // (with
      // the CLI's certificate) and the development L1 key that auto-unseals every Core node.
      var devConfig = NodeConfig.load("core", "dev", Map.of("openkcm.data-dir", dir.toString()));
      Optional<Path> clientTls =
          NodeTls.loadDevClient(devConfig, org.openkcm.systemtest.DemoStack.CLIENT_FILES)
              .map(t -> t.settings().certFile().toAbsolutePath().getParent());
      org.openkcm.core.keystore.DevFileKeystore devL1 =
          new org.openkcm.core.keystore.DevFileKeystore(
              Path.of(devConfig.getString("openkcm.core.keystore.devfile.directory")),
              false,
              Runnable::run);
      String master =
          org.openkcm.core.keystore.L1Reference.parse(
                  devConfig.getString("openkcm.core.seal.auto.l1-reference"))
              .keyId();
      if (!devL1.exists(master)) {
        devL1.createKey(master);
      }
      List<Node> nodes = new ArrayList<>();
      State state = new State("dev", jdbcUrl, Instant.now().toString(), nodes);
      try {
        for (int i = 0; i < coreNodes; i++) {
          List<String> props = new ArrayList<>();
          props.add("openkcm.data-dir=" + dir);
          props.add("openkcm.tls.name=core-" + (i + 1));
          props.add("openkcm.core.grpc.port=" + grpc[i]);
          props.add("openkcm.core.grpc.keys.port=" + keys[i]);
          props.add("pekko.remote.artery.canonical.port=" + artery[i]);
          props.add("openkcm.console.port=0");
          props.add("pekko-persistence-jdbc.shared-databases.openkcm.db.url=" + jdbcUrl);
          // cluster bootstrap, as in Kubernetes, with the config discovery in place of the
          // Kubernetes API:
          // the nodes find each other's management listeners and the lowest address forms the
          // cluster
          // once all of them answer
          props.add("openkcm.core.cluster.bootstrap=on");
          props.add(
              "pekko.management.cluster.bootstrap.contact-point-discovery.discovery-method=config");
          props.add(
              "pekko.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr="
                  + coreNodes);
          for (int m = 0; m < coreNodes; m++) {
            props.add(
                "pekko.discovery.config.services.openkcm-core.endpoints." + m + ".host=127.0.0.1");
            props.add(
                "pekko.discovery.config.services.openkcm-core.endpoints."
                    + m
                    + ".port="
                    + management[m]);
          }
          for (int g = 1; g <= gateways; g++) {
            props.add("openkcm.authz.assignments.gateways.gateway-" + g + ".0=*");
          }
          nodes.add(launch(dir, "core-" + (i + 1), "core", grpc[i], management[i], props));
          write(dir, state);
        }
        awaitReady(err, nodes, timeout);
        List<String> endpoints = new ArrayList<>();
        for (int p : grpc) {
          endpoints.add("127.0.0.1:" + p);
        }
        for (int g = 1; g <= gateways; g++) {
          int port = freePort();
          List<String> props = new ArrayList<>();
          props.add("openkcm.data-dir=" + dir);
          props.add("openkcm.gateway.name=gateway-" + g);
          props.add("openkcm.tls.name=gateway-" + g);
          props.add("openkcm.gateway.grpc.port=" + port);
          props.add("openkcm.gateway.kmip.port=0");
          for (int e = 0; e < endpoints.size(); e++) {
            props.add("openkcm.gateway.core.endpoints." + e + "=" + endpoints.get(e));
            props.add("openkcm.gateway.core.key-endpoints." + e + "=127.0.0.1:" + keys[e]);
          }
          nodes.add(launch(dir, "gateway-" + g, "gateway", port, freePort(), props));
          write(dir, state);
        }
        awaitReady(err, nodes, timeout);
      } catch (RuntimeException | IOException | InterruptedException e) {
        err.println(
            "openkcm cluster: not every node came up; stopping what started (logs in "
                + dir.resolve("logs")
                + ")");
        stopAll(err, state);
        Files.deleteIfExists(stateFile(dir));
        throw e;
      }
      Node firstGateway =
          nodes.stream().filter(n -> n.role().equals("gateway")).findFirst().orElse(nodes.get(0));
      Endpoints.now(
              "127.0.0.1:" + grpc[0], "127.0.0.1:" + firstGateway.grpc(), "dev", dir, clientTls)
          .write(dir);
      printTable(spec.commandLine().getOut(), state);
      err.println(
          "openkcm cluster: up. Try ./openkcm datakey generate --tenant acme --service payments"
              + " --data-dir "
              + dir
              + " after ./openkcm admin tenant create ...; stop a node with kill <pid> and watch"
              + " ./openkcm cluster status --data-dir "
              + dir
              + "; ./openkcm cluster down --data-dir "
              + dir);
      return 0;
    }

    private Node launch(
        Path dir, String name, String role, int grpcPort, int management, List<String> props)
        throws IOException {
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.add("-Xmx512m");
      cmd.add("-Dpekko.management.http.port=" + management);
      for (String p : props) {
        cmd.add("-D" + p);
      }
      cmd.add("-cp");
      cmd.add(System.getProperty("java.class.path"));
      cmd.add(Cli.class.getName());
      cmd.add(role);
      cmd.add("--profile");
      cmd.add("dev");
      Path log = dir.resolve("logs").resolve(name + ".log");
      Process p =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
              .start();
      spec.commandLine()
          .getErr()
          .println("openkcm cluster: started " + name + " (pid " + p.pid() + ", log " + log + ")");
      return new Node(name, role, p.pid(), grpcPort, management, log.toString());
    }

    private static void awaitReady(PrintWriter err, List<Node> nodes, Duration timeout)
        throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      List<Node> waiting = new ArrayList<>(nodes);
      while (!waiting.isEmpty()) {
        waiting.removeIf(n -> notReady(n).isEmpty());
        for (Node n : waiting) {
          if (!alive(n)) {
            throw new OpenKcmException(
                ErrorReason.INTERNAL, n.name() + " exited while starting; see " + n.log());
          }
        }
        if (waiting.isEmpty()) {
          break;
        }
        if (System.nanoTime() > deadline) {
          throw new OpenKcmException(
              ErrorReason.TIMEOUT,
              "not ready after "
                  + timeout
                  + ": "
                  + waiting.stream().map(n -> n.name() + " " + notReady(n).orElse("")).toList());
        }
        err.printf(
            "openkcm cluster: %d/%d ready, waiting for %s%n",
            nodes.size() - waiting.size(), nodes.size(), waiting.stream().map(Node::name).toList());
        err.flush();
        TimeUnit.SECONDS.sleep(1);
      }
    }
  }

  static void write(Path dir, State state) throws IOException {
    Path tmp = dir.resolve(STATE + ".tmp");
    JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), state);
    Files.move(
        tmp,
        stateFile(dir),
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }

  /** Gateways first (they drain), then Core nodes newest first (each leaves, shards hand off). */
  static void stopAll(PrintWriter err, State state) {
    List<Node> order = new ArrayList<>();
    state.nodes().stream().filter(n -> n.role().equals("gateway")).forEach(order::add);
    List<Node> cores =
        new ArrayList<>(state.nodes().stream().filter(n -> n.role().equals("core")).toList());
    java.util.Collections.reverse(cores);
    order.addAll(cores);
    for (Node n : order) {
      Optional<ProcessHandle> h = ProcessHandle.of(n.pid());
      if (h.isEmpty() || !h.get().isAlive()) {
        err.println("openkcm cluster: " + n.name() + " already stopped");
        continue;
      }
      h.get().destroy();
      try {
        h.get().onExit().get(45, TimeUnit.SECONDS);
        err.println("openkcm cluster: stopped " + n.name());
      } catch (Exception e) {
        h.get().destroyForcibly();
        err.println("openkcm cluster: " + n.name() + " did not stop in 45 s; killed");
      }
    }
    err.flush();
  }

  @Command(
      name = "status",
      mixinStandardHelpOptions = true,
      description =
          "Each node of the cluster under --data-dir: role, pid, address, ready, tenants.")
  static final class Status implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--data-dir", defaultValue = "./cluster-data", description = "As for up.")
    Path dataDir;

    @Override
    public Integer call() {
      State state =
          read(dataDir.toAbsolutePath().normalize())
              .orElseThrow(
                  () ->
                      new OpenKcmException(
                          ErrorReason.INVALID_ARGUMENT,
                          "no cluster under " + dataDir + " (./openkcm cluster up)"));
      printTable(spec.commandLine().getOut(), state);
      return 0;
    }
  }

  @Command(
      name = "down",
      mixinStandardHelpOptions = true,
      description = "Stop every node of the cluster under --data-dir (gracefully, then forcibly).")
  static final class Down implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--data-dir", defaultValue = "./cluster-data", description = "As for up.")
    Path dataDir;

    @Override
    public Integer call() throws IOException {
      Path dir = dataDir.toAbsolutePath().normalize();
      State state =
          read(dir)
              .orElseThrow(
                  () ->
                      new OpenKcmException(
                          ErrorReason.INVALID_ARGUMENT,
                          "no cluster under " + dataDir + " (./openkcm cluster up)"));
      stopAll(spec.commandLine().getErr(), state);
      Files.deleteIfExists(stateFile(dir));
      Endpoints.delete(dir);
      return 0;
    }
  }
}
