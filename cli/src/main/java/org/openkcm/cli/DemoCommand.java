package org.openkcm.cli;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.openkcm.orbital.Orbital;
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
      "Start a one-node Core (embedded H2 journal, DEVELOPMENT L1 keystore) and a",
      "gateway, onboard tenant acme with service payments if absent, and run until",
      "Ctrl+C. Restarting on the same --data-dir keeps every key.",
      "With --regions 2: two such regions, eu and us, kept in step by Orbital."
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
        "1, or 2: two regions, eu and us, on this machine:",
        "each a Core (its own H2 journal, master key and",
        "identity spiffe://openkcm.local/core/<region>)",
        "and a gateway, kept in step by Orbital. Every",
        "listener has its own port (defaults, eu / us):",
        "  Core gRPC            8710 / 8711",
        "  Core key listener    8712 / 8713",
        "  gateway gRPC         8720 / 8721",
        "  KMIP                 5696 / 5697",
        "  Orbital              8730 / 8731",
        "  Core management      7626 / 7628",
        "  gateway management   7627 / 7629",
        "  console              8740 / 8741",
        "  Artery              25520 / 25521",
        "The port options set eu's; us takes the next",
        "(the key listeners: Core port +2 and +3)."
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
    List<DemoRegion> layout = DemoRegion.two(corePort, gatewayPort, kmipPort, arteryPort);
    Map<String, Object> core = new HashMap<>();
    Map<String, Object> gateway = new HashMap<>();
    if (regions == 2) {
      core.putAll(layout.get(0).coreSettings(layout.get(1), dir));
      gateway.putAll(layout.get(0).gatewaySettings(dir));
    } else {
      core.put("openkcm.core.grpc.port", corePort);
      core.put("pekko.remote.artery.canonical.port", arteryPort);
      gateway.put("openkcm.gateway.grpc.port", gatewayPort);
      gateway.put("openkcm.gateway.kmip.port", kmipPort);
    }
    DemoStack stack =
        DemoStack.start(dir, "demo", ConfigFactory.parseMap(core), ConfigFactory.parseMap(gateway));
    List<AutoCloseable> running = new ArrayList<>();
    running.add(stack);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.err.println("openkcm demo: stopping");
                  Endpoints.delete(dir);
                  Collections.reverse(running);
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

    TenantInfo acme;
    if (regions == 2) {
      acme = stack.ensureTenant("acme", acmeL1, "payments");
      // the second region starts once the tenant's root key exists in the (shared) dev keystore;
      // Orbital once both regions run (eu's events wait in its journal until then)
      DemoRegion us = layout.get(1);
      DemoStack second =
          DemoStack.start(
              dir.resolve("region-us"),
              "demo",
              ConfigFactory.parseMap(us.coreSettings(layout.get(0), dir)),
              ConfigFactory.parseMap(us.gatewaySettings(dir)));
      running.add(second);
      Optional<Orbital> usOrbital = Orbital.init(second.core().system());
      usOrbital.ifPresent(running::add);
      Optional<Orbital> euOrbital = Orbital.init(stack.core().system());
      euOrbital.ifPresent(running::add);
      System.out.printf(
          """
          Two regions on 127.0.0.1, each with its own journal (eu under %s, us under %s),
          kept in step by Orbital:
          %s%s\
          An envelope made in eu (the endpoints below) opens in us:
            ./openkcm datakey decrypt --tenant acme --envelope B64 --context order=42 \\
                --gateway %s --tls-dir %s
          Replication: ./openkcm admin orbital status --orbital %s --tls-dir %s
          """,
          dir,
          dir.resolve("region-us"),
          layout.get(0).describe(stack, euOrbital),
          us.describe(second, usOrbital),
          hostPort(second.gateway().grpcAddress()),
          dir.resolve("pki"),
          euOrbital.map(o -> hostPort(o.address())).orElse("off"),
          dir.resolve("pki"));
    } else {
      acme = stack.ensureTenant("acme", acmeL1, "payments");
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
    return DemoRegion.hostPort(a);
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
