package org.openkcm.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.apache.pekko.http.javadsl.Http;
import org.openkcm.bench.echo.v1.EchoMessage;
import org.openkcm.bench.echo.v1.EchoService;
import org.openkcm.bench.echo.v1.EchoServiceClient;
import org.openkcm.bench.echo.v1.EchoServiceHandlerFactory;
import org.openkcm.bench.echo.v1.RelayService;
import org.openkcm.bench.echo.v1.RelayServiceClient;
import org.openkcm.gateway.GatewayNode;
import org.openkcm.node.grpc.UnaryService;
import org.openkcm.protocol.core.v1.CoreKeyServiceClient;
import org.openkcm.protocol.core.v1.UnwrapItem;
import org.openkcm.protocol.core.v1.UnwrapKeysRequest;
import org.openkcm.protocol.core.v1.WrapItem;
import org.openkcm.protocol.core.v1.WrapKeysRequest;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.DecryptBatchRequest;
import org.openkcm.protocol.gateway.v1.DecryptItem;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;
import org.openkcm.protocol.gateway.v1.GenerateDataKeysRequest;
import org.openkcm.systemtest.DemoStack;
import org.openkcm.systemtest.load.LoadRunner;

/**
 * Closed-loop load on the gateway's GenerateDataKey and Decrypt: N callers, each sending its next
 * request when the previous answer arrives, for a fixed time after a warm-up. Prints one JSON line
 * per run (ops/s, p50/p99/p99.9 in microseconds).
 *
 * <pre>
 *   java -cp 'bench/target/bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*' org.openkcm.bench.GatewayLoadDriver \
 *       [--gateway HOST:PORT] [--core HOST:PORT] [--skip-core true] [--seconds 10] [--warmup 15]
 *       [--concurrency 1,16,64 (0: none)] [--rate N (open loop at N req/s first)]
 *       [--open-rounds R (the open loop's scenarios interleaved in R rounds of seconds/R each)]
 *       [--server netty|pekko] [--executor direct|dispatcher] (the in-process gateway's transport)
 *       [--streaming on|off] (gateway to Core over bidirectional streams; on by default, as the gateway) [--pool on|off]
 *       [--core-keys on|off] (the Core's Netty key listener for unary key calls; direct Core runs use it)
 *       [--core-client netty|pekko] (the gateway's client of those calls)
 *       [--scenarios Echo,Relay,GenerateDataKey,...] (only these) [--core-batches 1,16,256] (direct Core runs)
 *       [--bulk-size 256] (keys per GenerateDataKeys/DecryptBatch call)
 *       [--prewarm 30] (seconds per single-key scenario, unmeasured, before any is measured: JIT)
 * </pre>
 *
 * With a Core address it also drives the Core's WrapKeys/UnwrapKeys directly in batches of 1, 16
 * and 256. Without --gateway it starts its own stack in this JVM (Core + gateway, H2 journal in a
 * temp dir), so client and servers share the machine's cores, like a sidecar deployment.
 *
 * <p>Baselines: {@code Echo} (one hop: the gateway's server stack, no work) and {@code Relay} (two
 * hops: the same, then the gateway's Core stream link to a trivial echo on the Core key listener's
 * server stack; no work at either end): what the transport alone costs a call with one Core hop,
 * such as a Decrypt.
 */
public final class GatewayLoadDriver {

  /**
   * With the persisted trail on ({@code -Dopenkcm.audit.trail.enabled=true}), drops the bench
   * tenant's and the node-wide trail schemas left by an earlier run.
   */
  private static void dropAuditTrail() throws java.sql.SQLException {
    if (!Boolean.getBoolean("openkcm.audit.trail.enabled")) {
      return;
    }
    String url =
        System.getProperty("openkcm.audit.trail.url", "jdbc:postgresql://127.0.0.1:5432/test");
    try (java.sql.Connection c =
            java.sql.DriverManager.getConnection(
                url,
                System.getProperty("openkcm.audit.trail.user", "postgres"),
                System.getProperty("openkcm.audit.trail.password", ""));
        java.sql.Statement st = c.createStatement()) {
      for (String tenant : List.of("acme", org.openkcm.node.audit.PostgresAuditTrail.NODE)) {
        st.execute(
            "DROP SCHEMA IF EXISTS "
                + org.openkcm.node.audit.PostgresAuditTrail.schema(tenant)
                + " CASCADE");
      }
    }
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> opts = new LinkedHashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      opts.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    int seconds = Integer.parseInt(opts.getOrDefault("seconds", "10"));
    if (opts.containsKey("scenarios")) {
      only = java.util.Set.of(opts.get("scenarios").split(","));
    }
    int warmup = Integer.parseInt(opts.getOrDefault("warmup", "15"));
    List<Integer> concurrency = new ArrayList<>();
    for (String c : opts.getOrDefault("concurrency", "1,16,64").split(",")) {
      if (Integer.parseInt(c.strip()) > 0) { // 0: no closed-loop runs (the open loop only)
        concurrency.add(Integer.parseInt(c.strip()));
      }
    }

    DemoStack stack = null;
    String target = opts.get("gateway");
    if (target == null) {
      dropAuditTrail(); // every run starts from an empty trail (a grown table costs more per row)
      Path dir = Files.createTempDirectory("openkcm-bench");
      stack =
          DemoStack.start(
              dir,
              "test",
              ConfigFactory.parseMap(
                  Map.of(
                      "openkcm.core.grpc.keys.enabled",
                      opts.getOrDefault("core-keys", "off").equals("on"))),
              ConfigFactory.parseMap(
                  Map.of(
                      "openkcm.gateway.grpc.server", opts.getOrDefault("server", "netty"),
                      "openkcm.gateway.grpc.executor", opts.getOrDefault("executor", "direct"),
                      "openkcm.gateway.core.streaming", opts.getOrDefault("streaming", "on"),
                      "openkcm.gateway.pool.enabled", opts.getOrDefault("pool", "on"),
                      "openkcm.gateway.core.client", opts.getOrDefault("core-client", "netty"))));
      stack.ensureTenant("acme", "devfile:acme-root", "payments");
      target = "127.0.0.1:" + stack.gateway().grpcAddress().getPort();
      opts.putIfAbsent(
          "core",
          "127.0.0.1:" + stack.core().keyAddress().orElse(stack.core().grpcAddress()).getPort());
    }
    RelayHop relayHop = new RelayHop(); // the two-hop baseline's second hop
    int echoPort = startEcho(stack, relayHop);
    String host = target.substring(0, target.lastIndexOf(':'));
    int port = Integer.parseInt(target.substring(target.lastIndexOf(':') + 1));

    ActorSystem<Void> system =
        ActorSystem.create(
            Behaviors.empty(),
            "openkcm-bench-client",
            ConfigFactory.parseString("pekko.actor.provider = local\npekko.loglevel = WARNING")
                .withFallback(ConfigFactory.load()));
    DataKeyServiceClient client =
        DataKeyServiceClient.create(
            GrpcClientSettings.connectToServiceAt(host, port, system)
                .withTls(false)
                .withDeadline(Duration.ofSeconds(30)),
            system);
    CoreKeyServiceClient coreClient = null;
    try {
      GenerateDataKeyRequest gen =
          GenerateDataKeyRequest.newBuilder()
              .setTenantId("acme")
              .setServiceId("payments")
              .putContext("order", "42")
              .build();
      GenerateDataKeyResponse sample =
          client.generateDataKey(gen).toCompletableFuture().get(30, TimeUnit.SECONDS);
      DecryptRequest dec =
          DecryptRequest.newBuilder()
              .setTenantId("acme")
              .setEnvelope(ByteString.copyFrom(sample.getEnvelope().toByteArray()))
              .putContext("order", "42")
              .build();
      // The transport limit: a trivial echo served by the gateway's own actor system and HTTP/2
      // settings.
      EchoServiceClient echo =
          EchoServiceClient.create(
              GrpcClientSettings.connectToServiceAt("127.0.0.1", echoPort, system)
                  .withTls(false)
                  .withDeadline(Duration.ofSeconds(30)),
              system);
      EchoMessage ping =
          EchoMessage.newBuilder().setPayload(ByteString.copyFrom(new byte[120])).build();
      RelayServiceClient relay =
          RelayServiceClient.create(
              GrpcClientSettings.connectToServiceAt("127.0.0.1", echoPort, system)
                  .withTls(false)
                  .withDeadline(Duration.ofSeconds(30)),
              system);
      // a new encryption context per call (AWS-style per-record contexts): never pooled
      java.util.concurrent.atomic.AtomicLong row = new java.util.concurrent.atomic.AtomicLong();
      Map<String, Supplier<CompletionStage<?>>> single = new LinkedHashMap<>();
      single.put("Echo", () -> echo.echo(ping));
      if (opts.getOrDefault("server", "netty").equals("netty")) {
        single.put("Relay", () -> relay.relay(ping)); // the echo with a second, empty hop
      }
      single.put("GenerateDataKey", () -> client.generateDataKey(gen));
      single.put("GenerateDataKeyUniqueContext", () -> client.generateDataKey(unique(gen, row)));
      single.put("Decrypt", () -> client.decrypt(dec));
      prewarm(Integer.parseInt(opts.getOrDefault("prewarm", "30")), single);
      if (opts.containsKey("rate")) {
        int rate = Integer.parseInt(opts.get("rate"));
        int rounds = Integer.parseInt(opts.getOrDefault("open-rounds", "1"));
        if (rounds > 1) {
          Map<String, Supplier<CompletionStage<?>>> chosen = new LinkedHashMap<>();
          single.forEach(
              (name, call) -> {
                if (only.isEmpty() || only.contains(name)) {
                  chosen.put(name, call);
                }
              });
          for (Map<String, Object> r :
              LoadRunner.openLoopInterleaved(chosen, rate, warmup, seconds, rounds)) {
            System.out.println(JSON.writeValueAsString(r));
          }
        } else {
          for (var e : single.entrySet()) {
            openLoop(e.getKey(), rate, warmup, seconds, e.getValue());
          }
        }
      }
      for (int c : concurrency) {
        for (var e : single.entrySet()) {
          run(e.getKey(), c, 1, warmup, seconds, e.getValue());
        }
      }
      echo.close();
      relay.close();
      int bulkSize = Integer.parseInt(opts.getOrDefault("bulk-size", "256"));
      GenerateDataKeysRequest gens =
          GenerateDataKeysRequest.newBuilder()
              .setTenantId("acme")
              .setServiceId("payments")
              .putContext("order", "42")
              .setCount(bulkSize)
              .build();
      DecryptBatchRequest.Builder bulk = DecryptBatchRequest.newBuilder().setTenantId("acme");
      for (int i = 0; i < bulkSize; i++) {
        bulk.addItems(
            DecryptItem.newBuilder().setEnvelope(sample.getEnvelope()).putContext("order", "42"));
      }
      DecryptBatchRequest decs = bulk.build();
      for (int c : new int[] {1, 4}) {
        run("GenerateDataKeys", c, bulkSize, warmup, seconds, () -> client.generateDataKeys(gens));
        run("DecryptBatch", c, bulkSize, warmup, seconds, () -> client.decryptBatch(decs));
      }
      if (opts.containsKey("core") && !opts.containsKey("skip-core")) {
        String core = opts.get("core");
        coreClient =
            CoreKeyServiceClient.create(
                GrpcClientSettings.connectToServiceAt(
                        core.substring(0, core.lastIndexOf(':')),
                        Integer.parseInt(core.substring(core.lastIndexOf(':') + 1)),
                        system)
                    .withTls(false)
                    .withDeadline(Duration.ofSeconds(30)),
                system);
        CoreKeyServiceClient cc = coreClient;
        for (String b : opts.getOrDefault("core-batches", "1,16,256").split(",")) {
          int batch = Integer.parseInt(b.strip());
          // as the gateway sends a batch whose keys share one context: the context once
          WrapKeysRequest.Builder wrap =
              WrapKeysRequest.newBuilder()
                  .setTenantId("acme")
                  .setServiceId("payments")
                  .putSharedContext("order", "42");
          for (int i = 0; i < batch; i++) {
            wrap.addItems(WrapItem.newBuilder().setPlaintext(ByteString.copyFrom(new byte[32])));
          }
          WrapKeysRequest w = wrap.build();
          List<ByteString> envelopes =
              cc.wrapKeys(w).toCompletableFuture().get(30, TimeUnit.SECONDS).getEnvelopesList();
          UnwrapKeysRequest.Builder unwrap =
              UnwrapKeysRequest.newBuilder().setTenantId("acme").putSharedContext("order", "42");
          envelopes.forEach(e -> unwrap.addItems(UnwrapItem.newBuilder().setEnvelope(e)));
          UnwrapKeysRequest u = unwrap.build();
          for (int c : concurrency) {
            run("CoreWrapKeys", c, batch, warmup, seconds, () -> cc.wrapKeys(w));
            run("CoreUnwrapKeys", c, batch, warmup, seconds, () -> cc.unwrapKeys(u));
          }
        }
      }
    } finally {
      if (coreClient != null) {
        coreClient.close();
      }
      client.close();
      system.terminate();
      relayHop.close();
      if (stack != null) {
        stack.close();
        dropAuditTrail(); // leaves nothing behind in the shared database
      }
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * One open-loop run at {@code rate} calls/s, printed as one JSON line (see {@link LoadRunner}).
   */
  private static void openLoop(
      String name, int rate, int warmupSeconds, int seconds, Supplier<CompletionStage<?>> call)
      throws Exception {
    if (!only.isEmpty() && !only.contains(name)) {
      return;
    }
    System.out.println(
        JSON.writeValueAsString(LoadRunner.openLoop(name, rate, warmupSeconds, seconds, call)));
  }

  /**
   * Serves EchoService from the in-process gateway's actor system on the same server stack and
   * settings as its DataKeyService (grpc-java Netty or pekko-http).
   */
  private static int startEcho(DemoStack stack, RelayHop relayHop) throws Exception {
    if (stack == null) {
      throw new IllegalArgumentException(
          "the echo baseline needs the in-process stack (omit --gateway)");
    }
    ActorSystem<Void> gw = stack.gateway().system();
    EchoService impl = in -> CompletableFuture.completedFuture(in);
    Config grpc = gw.settings().config().getConfig("openkcm.gateway.grpc");
    if (grpc.getString("server").equals("netty")) {
      return GatewayNode.bindNetty(
              gw,
              org.openkcm.gateway.GatewaySettings.Grpc.from(
                  grpc.withValue("port", ConfigValueFactory.fromAnyRef(0))),
              Optional.empty(),
              List.of(
                  UnaryService.named(EchoService.name)
                      .method(
                          "Echo",
                          EchoMessage.getDefaultInstance(),
                          EchoMessage.getDefaultInstance(),
                          impl::echo)
                      .build(),
                  UnaryService.named(RelayService.name)
                      .method(
                          "Relay",
                          EchoMessage.getDefaultInstance(),
                          EchoMessage.getDefaultInstance(),
                          relayHop::relay)
                      .build()))
          .address()
          .getPort();
    }
    return Http.get(gw)
        .newServerAt("127.0.0.1", 0)
        .bind(EchoServiceHandlerFactory.create(impl, gw))
        .toCompletableFuture()
        .get(30, TimeUnit.SECONDS)
        .localAddress()
        .getPort();
  }

  private static GenerateDataKeyRequest unique(
      GenerateDataKeyRequest gen, java.util.concurrent.atomic.AtomicLong row) {
    return gen.toBuilder().putContext("row", Long.toString(row.incrementAndGet())).build();
  }

  /**
   * Runs every chosen single-key scenario for {@code seconds} with 16 callers before anything is
   * measured, so that no scenario is measured while the JIT still compiles the others' paths: on
   * this project's two-core build machine C2 takes about 40 s of load to settle and, meanwhile,
   * uses 40 % of the CPU — the first scenario measured (the echo) was slowed the most.
   */
  private static void prewarm(int seconds, Map<String, Supplier<CompletionStage<?>>> scenarios)
      throws Exception {
    List<String> chosen =
        scenarios.keySet().stream().filter(n -> only.isEmpty() || only.contains(n)).toList();
    if (seconds <= 0 || chosen.isEmpty()) {
      return;
    }
    System.err.printf("pre-warming %s for %d s each%n", chosen, seconds);
    for (String name : chosen) {
      LoadRunner.closedLoop(name, 16, 1, 0, seconds, scenarios.get(name));
    }
  }

  /** Scenarios to run (--scenarios a,b,...); empty = all. */
  private static java.util.Set<String> only = java.util.Set.of();

  /** One closed-loop run, printed as one JSON line (see {@link LoadRunner}). */
  private static void run(
      String name,
      int concurrency,
      int batch,
      int warmupSeconds,
      int seconds,
      Supplier<CompletionStage<?>> call)
      throws Exception {
    if (!only.isEmpty() && !only.contains(name)) {
      return;
    }
    System.out.println(
        JSON.writeValueAsString(
            LoadRunner.closedLoop(name, concurrency, batch, warmupSeconds, seconds, call)));
  }
}
