package org.openkcm.cli;

import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.PrintWriter;
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
 * {@code ./openkcm cluster up}: prepares the shared data dir (development CA, the seal's L1 key),
 * launches each Core node and gateway as its own JVM on the dev profile, forms the Core cluster
 * with cluster bootstrap (config discovery), waits until every node is ready, writes {@code
 * cluster.json} and {@code endpoints.json}, prints the status table ({@link ClusterCommand}).
 */
@Command(
    name = "up",
    mixinStandardHelpOptions = true,
    description =
        "Start N Core nodes and M gateways, each its own JVM (profile dev: PostgreSQL journal,"
            + " mTLS from a development CA), wait until every one is ready, print a status table.")
final class ClusterUp implements Callable<Integer> {
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
      description =
          "The journal (PostgreSQL; its currentSchema is created when missing and belongs to this"
              + " data dir). Default: a schema of this data dir's own in"
              + " jdbc:postgresql://127.0.0.1:5432/test.")
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
    Optional<ClusterCommand.State> running = ClusterCommand.read(dir);
    if (running.isPresent() && running.get().nodes().stream().anyMatch(ClusterCommand::alive)) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          "a cluster is already running from "
              + dir
              + " (./openkcm cluster status, ./openkcm cluster down)");
    }
    if (jdbcUrl == null) {
      jdbcUrl = ClusterJournal.defaultUrl(dir);
    }
    // one cluster per journal schema: another data dir's master key could not open its blobs
    // (the nodes' own database user: the dev profile's, OPENKCM_JDBC_USER/PASSWORD when set)
    ClusterJournal.claim(
        jdbcUrl,
        dir,
        System.getenv().getOrDefault("OPENKCM_JDBC_USER", "postgres"),
        System.getenv().getOrDefault("OPENKCM_JDBC_PASSWORD", ""));
    Duration timeout = ConfigFactory.parseString("t = " + readyTimeout).getDuration("t");
    PrintWriter err = spec.commandLine().getErr();
    int[] grpc = new int[coreNodes];
    int[] artery = new int[coreNodes];
    for (int i = 0; i < coreNodes; i++) {
      grpc[i] = ClusterCommand.freePort();
      artery[i] = ClusterCommand.freePort();
    }
    // core-1 gets the lowest cluster address: when a crash splits the cluster in equal halves (one
    // of
    // two nodes), Pekko's split-brain resolver keeps the half with the lowest address, so core-1
    // (the
    // first seed) survives the loss of any other node instead of a coin toss over free ports
    java.util.Arrays.sort(artery);
    int[] keys = new int[coreNodes];
    for (int i = 0; i < coreNodes; i++) {
      keys[i] = ClusterCommand.freePort();
    }
    int[] management = new int[coreNodes];
    for (int i = 0; i < coreNodes; i++) {
      management[i] = ClusterCommand.freePort();
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
    List<ClusterCommand.Node> nodes = new ArrayList<>();
    ClusterCommand.State state =
        new ClusterCommand.State("dev", jdbcUrl, Instant.now().toString(), nodes);
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
        ClusterCommand.write(dir, state);
      }
      awaitReady(err, nodes, timeout);
      List<String> endpoints = new ArrayList<>();
      for (int p : grpc) {
        endpoints.add("127.0.0.1:" + p);
      }
      for (int g = 1; g <= gateways; g++) {
        int port = ClusterCommand.freePort();
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
        nodes.add(launch(dir, "gateway-" + g, "gateway", port, ClusterCommand.freePort(), props));
        ClusterCommand.write(dir, state);
      }
      awaitReady(err, nodes, timeout);
    } catch (RuntimeException | IOException | InterruptedException e) {
      err.println(
          "openkcm cluster: not every node came up; stopping what started (logs in "
              + dir.resolve("logs")
              + ")");
      ClusterCommand.stopAll(err, state);
      Files.deleteIfExists(ClusterCommand.stateFile(dir));
      throw e;
    }
    ClusterCommand.Node firstGateway =
        nodes.stream().filter(n -> n.role().equals("gateway")).findFirst().orElse(nodes.get(0));
    Endpoints.now("127.0.0.1:" + grpc[0], "127.0.0.1:" + firstGateway.grpc(), "dev", dir, clientTls)
        .write(dir);
    ClusterCommand.printTable(spec.commandLine().getOut(), state);
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

  private ClusterCommand.Node launch(
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
    return new ClusterCommand.Node(name, role, p.pid(), grpcPort, management, log.toString());
  }

  private static void awaitReady(PrintWriter err, List<ClusterCommand.Node> nodes, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    List<ClusterCommand.Node> waiting = new ArrayList<>(nodes);
    while (!waiting.isEmpty()) {
      waiting.removeIf(n -> ClusterCommand.notReady(n).isEmpty());
      for (ClusterCommand.Node n : waiting) {
        if (!ClusterCommand.alive(n)) {
          throw new OpenKcmException(
              ErrorReason.INTERNAL,
              n.name() + " exited while starting; see " + n.log() + lastErrors(Path.of(n.log())));
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
                + waiting.stream()
                    .map(n -> n.name() + " " + ClusterCommand.notReady(n).orElse(""))
                    .toList());
      }
      err.printf(
          "openkcm cluster: %d/%d ready, waiting for %s%n",
          nodes.size() - waiting.size(),
          nodes.size(),
          waiting.stream().map(ClusterCommand.Node::name).toList());
      err.flush();
      TimeUnit.SECONDS.sleep(1);
    }
  }

  /**
   * The ERROR lines (with what follows each, up to 12 lines) of a node's log that exited while
   * starting, so that the reason shows where {@code cluster up} is run (a CI log keeps no node
   * logs).
   */
  static String lastErrors(Path log) {
    try {
      List<String> lines = Files.readAllLines(log);
      List<String> shown = new ArrayList<>();
      for (int i = 0; i < lines.size() && shown.size() < 12; i++) {
        String line = lines.get(i);
        if (line.contains(" ERROR ") || line.startsWith("Exception") || line.startsWith("error:")) {
          for (int j = i; j < lines.size() && j < i + 4 && shown.size() < 12; j++) {
            shown.add("  " + lines.get(j));
          }
        }
      }
      return shown.isEmpty() ? "" : "; its log says:\n" + String.join("\n", shown);
    } catch (IOException | RuntimeException unreadable) {
      return "";
    }
  }
}
