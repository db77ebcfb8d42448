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
      names = "--artery-port",
      defaultValue = "25520",
      description = "Core cluster (Artery) port (0 = any; default: ${DEFAULT-VALUE}).")
  int arteryPort;

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
    Map<String, Object> core = new HashMap<>();
    core.put("openkcm.core.grpc.port", corePort);
    core.put("pekko.remote.artery.canonical.port", arteryPort);
    DemoStack stack =
        DemoStack.start(
            dir,
            "demo",
            ConfigFactory.parseMap(core),
            ConfigFactory.parseMap(Map.of("openkcm.gateway.grpc.port", gatewayPort)));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  System.err.println("openkcm demo: stopping");
                  Endpoints.delete(dir);
                  stack.close();
                  stopped.countDown();
                },
                "openkcm-demo-shutdown"));

    TenantInfo acme = stack.ensureTenant("acme", acmeL1, "payments");
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
          TLS      %s
          Journal  H2 file under %s/journal
          L1       %s
          Tenant   %s (L1 %s), services %s
        Endpoints written to %s/endpoints.json. In another terminal, try:
          ./openkcm datakey generate --tenant acme --service payments --context order=42
          ./openkcm datakey decrypt  --tenant acme --envelope <envelope from above> --context order=42
          ./openkcm admin tenant show --tenant acme
        Press Ctrl+C to stop; a restart on the same data dir keeps every key.
        """,
        coreAddr,
        gatewayAddr,
        stack
            .clientTls()
            .map(
                t ->
                    "mutual TLS 1.3, DEVELOPMENT CA and certificates in "
                        + t.settings().certFile().toAbsolutePath().getParent()
                        + " (the CLI uses cli.crt)")
            .orElse("off (plaintext)"),
        dir,
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
        dir);
    System.out.flush();
    stopped.await();
    return 0;
  }

  private static String hostPort(java.net.InetSocketAddress a) {
    return a.getHostString() + ":" + a.getPort();
  }
}
