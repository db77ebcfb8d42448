package org.openkcm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
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
    subcommands = {ClusterUp.class, ClusterCommand.Status.class, ClusterCommand.Down.class})
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

  /** A free loopback port for a node, below the kernel's ephemeral range ({@link FreePorts}). */
  static int freePort() {
    return org.openkcm.node.net.FreePorts.pick();
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
