package org.openkcm.systemtest;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.openkcm.core.CoreNode;
import org.openkcm.gateway.GatewayNode;
import org.openkcm.node.config.NodeConfig;
import org.openkcm.node.tls.MutualTls;
import org.openkcm.node.tls.NodeTls;
import org.openkcm.protocol.admin.v1.AdminServiceClient;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.TenantInfo;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * A Core node and a gateway in one JVM, wired to each other: the one-machine demo, and the stack
 * the end-to-end tests and the load driver run against.
 */
public final class DemoStack implements AutoCloseable {

  /**
   * The certificate files the CLI presents (in the development PKI): {@code <tls-dir>/cli.crt},
   * {@code cli.key}, {@code ca.crt}.
   */
  public static final String CLIENT_FILES = "cli";

  private final CoreNode core;
  private final GatewayNode gateway;
  private final Path dataDir;
  private final Optional<MutualTls> clientTls;

  private DemoStack(
      CoreNode core, GatewayNode gateway, Path dataDir, Optional<MutualTls> clientTls) {
    this.core = core;
    this.gateway = gateway;
    this.dataDir = dataDir;
    this.clientTls = clientTls;
  }

  /**
   * Starts the Core, then a gateway that talks to it.
   *
   * @param coreOverrides settings laid over the Core's profile (ports, journal)
   * @param gatewayOverrides settings laid over the gateway's profile (port)
   */
  public static DemoStack start(
      Path dataDir, String profile, Config coreOverrides, Config gatewayOverrides) {
    Config dir =
        ConfigFactory.empty()
            .withValue(
                "openkcm.data-dir",
                ConfigValueFactory.fromAnyRef(dataDir.toAbsolutePath().toString()));
    Config coreConfig = NodeConfig.load("core", profile, coreOverrides.withFallback(dir));
    CoreNode core = CoreNode.start(coreConfig);
    try {
      Optional<MutualTls> clientTls = NodeTls.loadDevClient(coreConfig, CLIENT_FILES);
      Config link =
          ConfigFactory.empty()
              .withValue(
                  "openkcm.gateway.core.host",
                  ConfigValueFactory.fromAnyRef(core.grpcAddress().getHostString()))
              .withValue(
                  "openkcm.gateway.core.port",
                  ConfigValueFactory.fromAnyRef(core.grpcAddress().getPort()))
              .withValue(
                  "openkcm.gateway.core.key-port",
                  ConfigValueFactory.fromAnyRef(
                      core.keyAddress().map(InetSocketAddress::getPort).orElse(0)));
      GatewayNode gateway =
          GatewayNode.start(
              NodeConfig.load(
                  "gateway", profile, gatewayOverrides.withFallback(link).withFallback(dir)));
      return new DemoStack(core, gateway, dataDir, clientTls);
    } catch (RuntimeException e) {
      core.close();
      throw e;
    }
  }

  /**
   * Onboards {@code tenantId} with {@code l1Reference} and creates {@code services}, each only if
   * absent.
   */
  public TenantInfo ensureTenant(String tenantId, String l1Reference, String... services) {
    return admin(
        admin -> {
          try {
            ignoreIfExists(
                () ->
                    admin.createTenant(
                        CreateTenantRequest.newBuilder()
                            .setTenantId(tenantId)
                            .setL1Reference(l1Reference)
                            .setCorrelationId("demo-setup")
                            .build()),
                ErrorReason.TENANT_ALREADY_EXISTS);
            for (String service : services) {
              ignoreIfExists(
                  () ->
                      admin.createService(
                          CreateServiceRequest.newBuilder()
                              .setTenantId(tenantId)
                              .setServiceId(service)
                              .setCorrelationId("demo-setup")
                              .build()),
                  ErrorReason.SERVICE_ALREADY_EXISTS);
            }
          } catch (Exception e) {
            throw GrpcErrors.fromGrpc(e);
          }
          return admin.getTenant(GetTenantRequest.newBuilder().setTenantId(tenantId).build());
        });
  }

  /**
   * One admin call to the Core as the CLI's identity (mTLS when the stack runs with it); its
   * failure as the {@link OpenKcmException} the Core answered.
   */
  public <T> T admin(
      java.util.function.Function<AdminServiceClient, java.util.concurrent.CompletionStage<T>>
          call) {
    AdminServiceClient admin =
        AdminServiceClient.create(
            NodeTls.client(
                GrpcClientSettings.connectToServiceAt(
                        core.grpcAddress().getHostString(),
                        core.grpcAddress().getPort(),
                        core.system())
                    .withDeadline(Duration.ofSeconds(30)),
                clientTls,
                Set.of("core")),
            core.system());
    try {
      return call.apply(admin).toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw GrpcErrors.fromGrpc(e);
    } finally {
      admin.close();
    }
  }

  private static void ignoreIfExists(
      java.util.function.Supplier<java.util.concurrent.CompletionStage<TenantInfo>> call,
      ErrorReason exists)
      throws Exception {
    try {
      call.get().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      OpenKcmException err = GrpcErrors.fromGrpc(e);
      if (err.reason() != exists) {
        throw err;
      }
    }
  }

  public CoreNode core() {
    return core;
  }

  public GatewayNode gateway() {
    return gateway;
  }

  /**
   * The command-line client's mTLS material ({@code spiffe://<domain>/admin/cli}, in the
   * development CA's directory), or empty when the stack is plaintext.
   */
  public Optional<MutualTls> clientTls() {
    return clientTls;
  }

  public Path dataDir() {
    return dataDir;
  }

  @Override
  public void close() {
    gateway.close();
    core.close();
  }
}
