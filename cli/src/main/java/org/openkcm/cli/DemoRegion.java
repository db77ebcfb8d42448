package org.openkcm.cli;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.openkcm.node.health.NodeHealth;
import org.openkcm.orbital.Orbital;
import org.openkcm.systemtest.DemoStack;

/**
 * One region of {@code ./openkcm demo --regions 2}: the port of each of its listeners and the name
 * its Core presents. Both regions run in one JVM on 127.0.0.1, so every listener of the two has a
 * port of its own, fixed (the regions find each other's Orbital by it, the README names them):
 *
 * <pre>
 *              Core  keys  gateway  KMIP  Orbital  mgmt Core/gateway  console  Artery
 *   eu         8710  8712  8720     5696  8730     7626 / 7627        8740     25520
 *   us         8711  8713  8721     5697  8731     7628 / 7629        8741     25521
 * </pre>
 *
 * us takes eu's port + 1, where two one-region defaults would collide with it (the Core's key
 * listener 8711 with us's Core, the gateway's management 7627 with us's Core management): the key
 * listeners sit behind both Cores' gRPC ports, us's management listeners behind eu's pair. eu's
 * Core, gateway, KMIP and Artery ports are those of the command line ({@code --core-port} ...; the
 * key listeners follow the Core's). Each Core presents {@code spiffe://<domain>/core/<region>},
 * issued by the one development CA of the data directory into {@code pki/core-<region>.crt|key}
 * (beside the gateways' {@code gateway.crt} and the CLI's {@code cli.crt}).
 */
record DemoRegion(
    String name,
    int core,
    int coreKeys,
    int coreManagement,
    int console,
    int artery,
    int orbital,
    int gateway,
    int kmip,
    int gatewayManagement) {

  private static final String HOST = "127.0.0.1";
  private static final int ORBITAL = 8730;
  private static final int MANAGEMENT = 7626;
  private static final int CONSOLE = 8740;

  /** eu and us, from the ports given on the command line (eu's). */
  static List<DemoRegion> two(int corePort, int gatewayPort, int kmipPort, int arteryPort) {
    return List.of(
        new DemoRegion(
            "eu",
            corePort,
            corePort + 2,
            MANAGEMENT,
            CONSOLE,
            arteryPort,
            ORBITAL,
            gatewayPort,
            kmipPort,
            MANAGEMENT + 1),
        new DemoRegion(
            "us",
            corePort + 1,
            corePort + 3,
            MANAGEMENT + 2,
            CONSOLE + 1,
            arteryPort + 1,
            ORBITAL + 1,
            gatewayPort + 1,
            kmipPort == 0 ? 0 : kmipPort + 1,
            MANAGEMENT + 3));
  }

  /**
   * The Core's settings: its listeners, its region and identity, Orbital to {@code peer}, and what
   * both regions share under {@code dir} (the development L1 keystore and CA).
   */
  Map<String, Object> coreSettings(DemoRegion peer, Path dir) {
    Path pki = pki(dir);
    Map<String, Object> c = new HashMap<>();
    c.put("openkcm.core.region", name);
    c.put("openkcm.core.grpc.port", core);
    c.put("openkcm.core.grpc.keys.port", coreKeys);
    c.put("pekko.management.http.port", coreManagement);
    c.put("openkcm.console.port", console);
    c.put("pekko.remote.artery.canonical.port", artery);
    // two clusters in one JVM: each registers its own JMX bean
    c.put("pekko.cluster.jmx.multi-mbeans-in-same-jvm", "on");
    c.put("openkcm.orbital.enabled", true);
    c.put("openkcm.orbital.port", orbital);
    c.put(
        "openkcm.orbital.peers",
        // core: the replica forwards service creation and rotations of the peer's tenants there
        List.of(
            Map.of(
                "name",
                peer.name,
                "host",
                HOST,
                "port",
                peer.orbital,
                "core",
                HOST + ":" + peer.core)));
    c.put("openkcm.core.keystore.devfile.directory", dir.resolve("dev-l1").toString());
    c.put("openkcm.tls.dir", pki.toString());
    c.put("openkcm.tls.name", name);
    c.put("openkcm.tls.cert-file", pki.resolve("core-" + name + ".crt").toString());
    c.put("openkcm.tls.key-file", pki.resolve("core-" + name + ".key").toString());
    return c;
  }

  /** The gateway's settings: its listeners, and the development CA both regions share. */
  Map<String, Object> gatewaySettings(Path dir) {
    return Map.of(
        "openkcm.gateway.grpc.port", gateway,
        "openkcm.gateway.kmip.port", kmip,
        "pekko.management.http.port", gatewayManagement,
        "openkcm.tls.dir", pki(dir).toString());
  }

  /**
   * Where this region's {@code stack} and {@code orbital} listen (as bound, "off" for a listener
   * that is not; the console as configured), and the Core's identity, for the demo's banner.
   */
  String describe(DemoStack stack, Optional<Orbital> orbital) {
    var config = stack.core().system().settings().config();
    return String.format(
        """
          %s  Core     %s  (key listener %s, management %s, console %s, Artery %s, Orbital %s)
              Gateway  %s  (KMIP %s, management %s); Core identity spiffe://%s/core/%s
        """,
        name,
        hostPort(stack.core().grpcAddress()),
        stack.core().keyAddress().map(a -> port(a.getPort())).orElse("off"),
        management(NodeHealth.get(stack.core().system())),
        config.getBoolean("openkcm.console.enabled")
            ? port(config.getInt("openkcm.console.port"))
            : "off",
        port(stack.core().system().address().getPort().orElse(0)),
        orbital.map(o -> port(o.address().getPort())).orElse("off"),
        hostPort(stack.gateway().grpcAddress()),
        stack.gateway().kmipAddress().map(a -> port(a.getPort())).orElse("off"),
        management(NodeHealth.get(stack.gateway().system())),
        config.getString("openkcm.tls.trust-domain"),
        config.getString("openkcm.tls.name"));
  }

  private static String management(NodeHealth health) {
    return health.management().map(u -> port(u.getPort())).orElse("off");
  }

  /** A port of 127.0.0.1, where every demo listener is. */
  private static String port(int port) {
    return ":" + port;
  }

  static String hostPort(InetSocketAddress a) {
    return a.getHostString() + ":" + a.getPort();
  }

  private static Path pki(Path dir) {
    return dir.resolve("pki");
  }
}
