package org.openkcm.cli;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.openkcm.core.CoreNode;
import org.openkcm.gateway.GatewayNode;
import org.openkcm.node.config.NodeConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./openkcm core} and {@code ./openkcm gateway}: run one node of a real deployment
 * (configuration from {@code config/}, the profile, environment variables and {@code -D} system
 * properties). Each prints one JSON line with its endpoint once it serves, then runs until
 * SIGTERM/SIGINT.
 */
final class NodeCommands {

  private NodeCommands() {}

  @Command(
      name = "core",
      mixinStandardHelpOptions = true,
      description =
          "Run one Core node (cluster member; seed nodes, journal and keystores from configuration).")
  static final class Core implements Callable<Integer> {
    @Option(
        names = "--profile",
        required = true,
        description = "demo, dev, prod or test (required: a node never guesses its profile).")
    String profile;

    @Option(names = "--data-dir", description = "Data directory (default: openkcm.data-dir).")
    Path dataDir;

    @Override
    public Integer call() throws Exception {
      Map<String, Object> overrides = new HashMap<>();
      if (dataDir != null) {
        overrides.put("openkcm.data-dir", dataDir.toAbsolutePath().toString());
      }
      CoreNode node = CoreNode.start(NodeConfig.load("core", profile, overrides));
      java.util.Optional<org.openkcm.orbital.Orbital> orbital =
          org.openkcm.orbital.Orbital.init(node.system());
      Map<String, Object> out = new LinkedHashMap<>();
      out.put("core", node.grpcAddress().getHostString() + ":" + node.grpcAddress().getPort());
      out.put("node", node.system().address().toString());
      orbital.ifPresent(
          o -> out.put("orbital", o.address().getHostString() + ":" + o.address().getPort()));
      return runUntilStopped(
          out,
          () -> {
            orbital.ifPresent(org.openkcm.orbital.Orbital::close);
            node.close();
          });
    }
  }

  @Command(
      name = "gateway",
      mixinStandardHelpOptions = true,
      description = "Run one gateway (Core endpoints from openkcm.gateway.core.endpoints).")
  static final class Gateway implements Callable<Integer> {
    @Option(
        names = "--profile",
        required = true,
        description = "demo, dev, prod or test (required: a node never guesses its profile).")
    String profile;

    @Override
    public Integer call() throws Exception {
      GatewayNode node = GatewayNode.start(NodeConfig.load("gateway", profile, Map.of()));
      return runUntilStopped(
          Map.of(
              "gateway", node.grpcAddress().getHostString() + ":" + node.grpcAddress().getPort()),
          node::close);
    }
  }

  private static int runUntilStopped(Map<String, Object> ready, Runnable stop)
      throws InterruptedException {
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  stop.run();
                  stopped.countDown();
                },
                "openkcm-node-shutdown"));
    Cli.printJson(ready);
    stopped.await();
    return 0;
  }
}
