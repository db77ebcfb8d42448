package org.openkcm.cli;

import com.google.protobuf.ByteString;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.openkcm.protocol.core.v1.CoreKeyServiceClient;
import org.openkcm.protocol.core.v1.UnwrapItem;
import org.openkcm.protocol.core.v1.UnwrapKeysRequest;
import org.openkcm.protocol.core.v1.WrapItem;
import org.openkcm.protocol.core.v1.WrapKeysRequest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.CreateKeyRequest;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.DecryptBatchRequest;
import org.openkcm.protocol.gateway.v1.DecryptItem;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeysRequest;
import org.openkcm.protocol.gateway.v1.GetKeyRequest;
import org.openkcm.protocol.gateway.v1.KeyVaultServiceClient;
import org.openkcm.systemtest.load.LoadRunner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code ./openkcm bench <scenario>}: load on a running stack (the demo's, from endpoints.json, or
 * given addresses), one JSON line of figures per run. The same runner as the benchmark driver under
 * {@code bench/}, so anyone can reproduce docs/BENCHMARKS.md against their own stack.
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description =
        "Load a running stack and print {ops/s, p50/p99/p99.9 in µs} as one JSON line. Scenarios: "
            + "generate, generate-unique-context (a new encryption context per call, as per-record"
            + " contexts do), decrypt, generate-batch, decrypt-batch, key-create, key-get, core-wrap,"
            + " core-unwrap.")
final class BenchCommand implements Callable<Integer> {

  @Parameters(index = "0", description = "The scenario.")
  String scenario;

  @Option(
      names = "--seconds",
      defaultValue = "10",
      description = "Measured time (default: ${DEFAULT-VALUE}).")
  int seconds;

  @Option(
      names = "--warmup",
      defaultValue = "5",
      description = "Discarded warm-up time (default: ${DEFAULT-VALUE}).")
  int warmup;

  @Option(
      names = "--concurrency",
      defaultValue = "16",
      description = "Callers in the closed loop (default: ${DEFAULT-VALUE}).")
  int concurrency;

  @Option(
      names = "--rate",
      description = "Open loop instead: calls per second, latency from the intended send time.")
  Integer rate;

  @Option(
      names = "--batch",
      defaultValue = "256",
      description = "Keys per call of the batch scenarios (default: ${DEFAULT-VALUE}).")
  int batch;

  @Option(
      names = "--tenant",
      defaultValue = "acme",
      description = "Tenant (default: ${DEFAULT-VALUE}).")
  String tenant;

  @Option(
      names = "--service",
      defaultValue = "payments",
      description = "Service (default: ${DEFAULT-VALUE}).")
  String service;

  @Option(
      names = "--gateway",
      description = "Gateway HOST:PORT (default: from DATA_DIR/endpoints.json).")
  String gateway;

  @Option(
      names = "--core",
      description = "Core HOST:PORT for core-* scenarios (default: from DATA_DIR/endpoints.json).")
  String core;

  @Option(
      names = "--data-dir",
      defaultValue = "./data",
      description = "Data dir of the running demo (default: ${DEFAULT-VALUE}).")
  Path dataDir;

  @Option(
      names = "--tls-dir",
      description = "mTLS client material: DIR/cli.crt, cli.key, ca.crt (default: the demo's).")
  Path tlsDir;

  private static final Duration CALL = Duration.ofSeconds(30);

  @Override
  public Integer call() throws Exception {
    if (seconds < 1 || warmup < 0 || concurrency < 1 || batch < 1 || (rate != null && rate < 1)) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          "--seconds, --concurrency, --batch and --rate must be positive, --warmup not negative");
    }
    try (ClientSystem clients = new ClientSystem()) {
      Supplier<CompletionStage<?>> call;
      int keysPerCall = 1;
      if (scenario.startsWith("core-")) {
        CoreKeyServiceClient c =
            CoreKeyServiceClient.create(
                clients.settings(
                    Target.resolveGateway(core, dataDir, tlsDir, Endpoints::core), CALL, "core"),
                clients.system());
        WrapKeysRequest.Builder wrap =
            WrapKeysRequest.newBuilder().setTenantId(tenant).setServiceId(service);
        SecureRandom random = new SecureRandom();
        for (int i = 0; i < batch; i++) {
          byte[] dek = new byte[32];
          random.nextBytes(dek);
          wrap.addItems(
              WrapItem.newBuilder()
                  .setPlaintext(ByteString.copyFrom(dek))
                  .putContext("bench", "1"));
        }
        WrapKeysRequest w = wrap.build();
        keysPerCall = batch;
        call =
            switch (scenario) {
              case "core-wrap" -> () -> c.wrapKeys(w);
              case "core-unwrap" -> {
                UnwrapKeysRequest.Builder u = UnwrapKeysRequest.newBuilder().setTenantId(tenant);
                Cli.await(c.wrapKeys(w), CALL)
                    .getEnvelopesList()
                    .forEach(
                        e ->
                            u.addItems(
                                UnwrapItem.newBuilder().setEnvelope(e).putContext("bench", "1")));
                UnwrapKeysRequest unwrap = u.build();
                yield () -> c.unwrapKeys(unwrap);
              }
              default -> throw unknown();
            };
      } else {
        GrpcClientSettings toGateway =
            clients.settings(
                Target.resolveApp(gateway, dataDir, tlsDir, Endpoints::gateway, tenant, service),
                CALL,
                "gateway");
        DataKeyServiceClient g = DataKeyServiceClient.create(toGateway, clients.system());
        KeyVaultServiceClient v = KeyVaultServiceClient.create(toGateway, clients.system());
        GenerateDataKeyRequest gen =
            GenerateDataKeyRequest.newBuilder()
                .setTenantId(tenant)
                .setServiceId(service)
                .putContext("bench", "1")
                .build();
        switch (scenario) {
          case "generate" -> call = () -> g.generateDataKey(gen);
          case "generate-unique-context" -> {
            java.util.concurrent.atomic.AtomicLong row =
                new java.util.concurrent.atomic.AtomicLong();
            call =
                () ->
                    g.generateDataKey(
                        gen.toBuilder()
                            .putContext("row", Long.toString(row.incrementAndGet()))
                            .build());
          }
          case "decrypt" -> {
            DecryptRequest d =
                DecryptRequest.newBuilder()
                    .setTenantId(tenant)
                    .putContext("bench", "1")
                    .setEnvelope(Cli.await(g.generateDataKey(gen), CALL).getEnvelope())
                    .build();
            call = () -> g.decrypt(d);
          }
          case "generate-batch" -> {
            GenerateDataKeysRequest r =
                GenerateDataKeysRequest.newBuilder()
                    .setTenantId(tenant)
                    .setServiceId(service)
                    .putContext("bench", "1")
                    .setCount(batch)
                    .build();
            keysPerCall = batch;
            call = () -> g.generateDataKeys(r);
          }
          case "decrypt-batch" -> {
            ByteString envelope = Cli.await(g.generateDataKey(gen), CALL).getEnvelope();
            DecryptBatchRequest.Builder r = DecryptBatchRequest.newBuilder().setTenantId(tenant);
            for (int i = 0; i < batch; i++) {
              r.addItems(DecryptItem.newBuilder().setEnvelope(envelope).putContext("bench", "1"));
            }
            DecryptBatchRequest req = r.build();
            keysPerCall = batch;
            call = () -> g.decryptBatch(req);
          }
          case "key-create" -> {
            CreateKeyRequest r =
                CreateKeyRequest.newBuilder().setTenantId(tenant).setServiceId(service).build();
            call = () -> v.createKey(r);
          }
          case "key-get" -> {
            String id =
                Cli.await(
                        v.createKey(
                            CreateKeyRequest.newBuilder()
                                .setTenantId(tenant)
                                .setServiceId(service)
                                .build()),
                        CALL)
                    .getKeyId();
            GetKeyRequest r =
                GetKeyRequest.newBuilder()
                    .setTenantId(tenant)
                    .setServiceId(service)
                    .setKeyId(id)
                    .build();
            call = () -> v.getKey(r);
          }
          default -> throw unknown();
        }
      }
      Map<String, Object> result =
          rate != null
              ? LoadRunner.openLoop(scenario, rate, warmup, seconds, call)
              : LoadRunner.closedLoop(scenario, concurrency, keysPerCall, warmup, seconds, call);
      Cli.printJson(result);
      return 0;
    }
  }

  private OpenKcmException unknown() {
    return new OpenKcmException(
        ErrorReason.INVALID_ARGUMENT,
        "unknown scenario '"
            + scenario
            + "'; one of generate, "
            + "decrypt, generate-batch, decrypt-batch, key-create, key-get, core-wrap, core-unwrap");
  }
}
