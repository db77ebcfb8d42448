package org.openkcm.cli;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.openkcm.protocol.admin.v1.TenantInfo;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.systemtest.DemoStack;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./openkcm demo}: a self-contained Core + gateway on this machine, until interrupted. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Start a one-node Core (embedded H2 journal, DEVELOPMENT L1 keystore) and a gateway,",
      "onboard tenant acme with service payments if absent, and run until Ctrl+C.",
      "Restarting on the same --data-dir keeps every key."
    })
final class DemoCommand implements Callable<Integer> {

  @Option(
      names = "--data-dir",
      defaultValue = "./data",
      description =
          "Where the journal, dev keystore and endpoints.json live (default: ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(
      names = "--core-port",
      defaultValue = "8710",
      description = "Core gRPC port (0 = any free port; default: ${DEFAULT-VALUE}).")
  int corePort;

  @Option(
      names = "--gateway-port",
      defaultValue = "8720",
      description = "Gateway gRPC port (0 = any free port; default: ${DEFAULT-VALUE}).")
  int gatewayPort;

  @Option(
      names = "--kmip-port",
      defaultValue = "5696",
      description = "Gateway KMIP port (mutual TLS; 0 = any free port; default: ${DEFAULT-VALUE}).")
  int kmipPort;

  @Option(
      names = "--artery-port",
      defaultValue = "25520",
      description = "Core cluster (Artery) port (0 = any; default: ${DEFAULT-VALUE}).")
  int arteryPort;

  @Option(
      names = "--regions",
      defaultValue = "1",
      description = {
        "1, or 2: two regions (eu and us) on this machine, each a Core with its own H2 journal and",
        "master key and a gateway, kept in step by Orbital (ports +1 for us; Orbital on 8730/8731)."
      })
  int regions;

  @Option(
      names = "--l1",
      defaultValue = "devfile",
      description = {
        "Where tenant acme's root key lives: devfile (DEVELOPMENT file keystore) or softhsm",
        "(a SoftHSM2 PKCS#11 token that ./openkcm prepares under DATA_DIR/softhsm; needs softhsm2 + opensc)."
      })
  String l1;

  private static final int ORBITAL_PORT = 8730;

  /** The settings of one of the two demo regions: its name, Orbital, the shared L1 and PKI. */
  private static Map<String, Object> region(
      String name, int orbitalPort, String peer, int peerPort, Path dir) {
    Map<String, Object> c = new HashMap<>();
    c.put("openkcm.core.region", name);
    c.put("openkcm.orbital.enabled", true);
    c.put("openkcm.orbital.port", orbitalPort);
    c.put(
        "openkcm.orbital.peers",
        java.util.List.of(Map.of("name", peer, "host", "127.0.0.1", "port", peerPort)));
    // the customer's L1 reachable from both (one dev keystore), one development CA for both
    c.put("openkcm.core.keystore.devfile.directory", dir.resolve("dev-l1").toString());
    c.put("openkcm.tls.dir", dir.resolve("pki").toString());
    return c;
  }

  @Override
  public Integer call() throws Exception {
    if (!l1.equals("devfile") && !l1.equals("softhsm")) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, "--l1 must be devfile or softhsm, was " + l1);
    }
    if (l1.equals("softhsm") && !"true".equals(System.getenv("OPENKCM_PKCS11_ENABLED"))) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          "--l1 softhsm: start the demo through ./openkcm, which prepares the SoftHSM2 token");
    }
    String acmeL1 =
        l1.equals("softhsm") ? "pkcs11:token=openkcm-demo;object=acme-root" : "devfile:acme-root";
    Files.createDirectories(dataDir);
    Path dir = dataDir.toAbsolutePath().normalize();
    if (regions != 1 && regions != 2) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, "--regions must be 1 or 2, was " + regions);
    }
    if (regions == 2 && (corePort == 0 || gatewayPort == 0 || arteryPort == 0)) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, "--regions 2 needs fixed ports (the peers must know them)");
    }
    Map<String, Object> core = new HashMap<>();
    core.put("openkcm.core.grpc.port", corePort);
    core.put("pekko.remote.artery.canonical.port", arteryPort);
    if (regions == 2) {
      core.putAll(region("eu", ORBITAL_PORT, "us", ORBITAL_PORT + 1, dir));
    }
    DemoStack stack =
        DemoStack.start(
            dir,
            "demo",
            ConfigFactory.parseMap(core),
            ConfigFactory.parseMap(
                Map.of(
                    "openkcm.gateway.grpc.port",
                    gatewayPort,
                    "openkcm.gateway.kmip.port",
                    kmipPort)));
    java.util.List<AutoCloseable> running = new java.util.ArrayList<>();
    running.add(stack);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.err.println("openkcm demo: stopping");
                  Endpoints.delete(dir);
                  java.util.Collections.reverse(running);
                  for (AutoCloseable r : running) {
                    try {
                      r.close();
                    } catch (Exception e) {
                      System.err.println("openkcm demo: " + e.getMessage());
                    }
                  }
                  stopped.countDown();
                },
                "openkcm-demo-shutdown"));

    if (regions == 2) {
      org.openkcm.orbital.Orbital.init(stack.core().system()).ifPresent(running::add);
    }
    TenantInfo acme = stack.ensureTenant("acme", acmeL1, "payments");
    if (regions == 2) {
      // the second region starts once the tenant's root key exists in the (shared) dev keystore
      Map<String, Object> us = new HashMap<>();
      us.put("openkcm.core.grpc.port", corePort + 1);
      us.put("pekko.remote.artery.canonical.port", arteryPort + 1);
      us.putAll(region("us", ORBITAL_PORT + 1, "eu", ORBITAL_PORT, dir));
      DemoStack second =
          DemoStack.start(
              dir.resolve("region-us"),
              "demo",
              ConfigFactory.parseMap(us),
              ConfigFactory.parseMap(
                  Map.of(
                      "openkcm.gateway.grpc.port",
                      gatewayPort + 1,
                      "openkcm.gateway.kmip.port",
                      kmipPort == 0 ? 0 : kmipPort + 1,
                      "openkcm.tls.dir",
                      dir.resolve("pki").toString())));
      running.add(second);
      org.openkcm.orbital.Orbital.init(second.core().system()).ifPresent(running::add);
      System.out.printf(
          """
          Second region us: Core %s, gateway %s (Orbital: eu on %d, us on %d).
          An envelope made in eu opens in us:
            ./openkcm datakey decrypt --tenant acme --envelope B64 --context order=42 \\
                --gateway %s --tls-dir %s
          """,
          hostPort(second.core().grpcAddress()),
          hostPort(second.gateway().grpcAddress()),
          ORBITAL_PORT,
          ORBITAL_PORT + 1,
          hostPort(second.gateway().grpcAddress()),
          dir.resolve("pki"));
    }
    String coreAddr = hostPort(stack.core().grpcAddress());
    String gatewayAddr = hostPort(stack.gateway().grpcAddress());
    Endpoints.now(
            coreAddr,
            gatewayAddr,
            "demo",
            dir,
            stack.clientTls().map(t -> t.settings().certFile().toAbsolutePath().getParent()))
        .write(dir);

    System.out.printf(
        """
        OpenKCM demo is running (profile demo)
          Core     gRPC %s  (CoreKeyService, AdminService)
          Gateway  gRPC %s  (DataKeyService)
          KMIP     %s
          TLS      %s
          Journal  H2 file under %s/journal (vault and KMIP objects: H2 file under %s/vault)
          Health   %s
          L1       %s
          Tenant   %s (L1 %s), services %s
        Endpoints written to %s/endpoints.json. In another terminal, try:
          ./openkcm datakey generate --tenant acme --service payments --context order=42
          ./openkcm datakey decrypt  --tenant acme --envelope <envelope from above> --context order=42
          ./openkcm admin tenant show --tenant acme
          ./openkcm admin console        (a one-time URL that signs your browser in to the web console)
          curl --cert %s/cli.crt --key %s/cli.key --cacert %s/ca.crt %s/v1/tenants/acme
        Press Ctrl+C to stop; a restart on the same data dir keeps every key.
        """,
        coreAddr,
        gatewayAddr,
        kmipLine(stack, dir),
        stack
            .clientTls()
            .map(
                t ->
                    "mutual TLS 1.3, DEVELOPMENT CA and certificates in "
                        + t.settings().certFile().toAbsolutePath().getParent()
                        + " (the CLI uses cli.crt)")
            .orElse("off (plaintext)"),
        dir,
        dir,
        managementLine(stack),
        l1.equals("softhsm")
            ? "SoftHSM2 token openkcm-demo under "
                + dir
                + "/softhsm (PKCS#11; a software token, for demos)"
            : "DEVELOPMENT file keystore under " + dir + "/dev-l1 -- NOT FOR PRODUCTION",
        acme.getTenantId(),
        acme.getL1Reference(),
        acme.getServicesList().stream()
            .map(s -> s.getServiceId() + " (L3 v" + s.getL3Version() + ")")
            .toList(),
        dir,
        dir.resolve("pki"),
        dir.resolve("pki"),
        dir.resolve("pki"),
        "https://" + coreAddr);
    System.out.flush();
    stopped.await();
    return 0;
  }

  private static String hostPort(java.net.InetSocketAddress a) {
    return a.getHostString() + ":" + a.getPort();
  }

  /** Where KMIP listens and how to make a client certificate for it. */
  /** Where the two nodes answer /alive, /ready and /metrics. */
  private static String managementLine(DemoStack stack) {
    String core =
        org.openkcm.node.health.NodeHealth.get(stack.core().system())
            .management()
            .map(Object::toString)
            .orElse("off");
    String gateway =
        org.openkcm.node.health.NodeHealth.get(stack.gateway().system())
            .management()
            .map(Object::toString)
            .orElse("off");
    return "Core " + core + "{alive,ready,metrics}, gateway " + gateway + "{alive,ready,metrics}";
  }

  private static String kmipLine(DemoStack stack, Path dir) {
    return stack
        .gateway()
        .kmipAddress()
        .map(
            a ->
                hostPort(a)
                    + "  (KMIP 1.0-2.0, mutual TLS; a client certificate for tenant acme, service"
                    + " payments:\n"
                    + "           ./openkcm pki issue --data-dir "
                    + dir
                    + " --id spiffe://"
                    + stack
                        .gateway()
                        .wiring()
                        .tls()
                        .map(t -> t.identity().trustDomain())
                        .orElse("openkcm.local")
                    + "/app/acme/payments --out "
                    + dir
                    + "/kmip-client; CA "
                    + dir
                    + "/pki/ca.crt)")
        .orElse("off (needs mTLS)");
  }
}
