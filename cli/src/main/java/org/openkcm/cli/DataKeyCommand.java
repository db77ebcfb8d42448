package org.openkcm.cli;

import com.google.protobuf.ByteString;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.envelope.EnvelopeException;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.DecryptResponse;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./openkcm datakey generate|decrypt|rewrap}: talks to a running gateway, prints one JSON
 * line.
 */
@Command(
    name = "datakey",
    mixinStandardHelpOptions = true,
    description = "Data keys (L4) through the gateway.",
    subcommands = {
      DataKeyCommand.Generate.class,
      DataKeyCommand.Decrypt.class,
      RewrapCommand.class
    })
final class DataKeyCommand {

  @Command(
      name = "generate",
      mixinStandardHelpOptions = true,
      description =
          "Generate a data key: prints {\"plaintext\": base64, \"envelope\": base64, \"l3Version\": n}.")
  static final class Generate implements Callable<Integer> {
    @Mixin GatewayTarget target;

    @Option(names = "--tenant", required = true, description = "Tenant id.")
    String tenant;

    @Option(names = "--service", required = true, description = "Service id.")
    String service;

    @Option(
        names = "--context",
        description = "Encryption context entry k=v (repeatable); Decrypt needs the same.")
    Map<String, String> context = new LinkedHashMap<>();

    @Option(
        names = "--key-length",
        defaultValue = "32",
        description = "DEK length in bytes: 16, 24 or 32 (default: ${DEFAULT-VALUE}).")
    int keyLength;

    @Option(
        names = "--count",
        defaultValue = "1",
        description = "How many keys; more than one needs --out (default: ${DEFAULT-VALUE}).")
    long count;

    @Option(
        names = "--out",
        description =
            "Append {\"envelope\", \"context\"} JSON lines here (envelopes only: no plaintext key"
                + " is written to disk); prints a summary.")
    java.nio.file.Path out;

    @Override
    public Integer call() throws java.io.IOException {
      if (count < 1 || (count > 1 && out == null)) {
        throw new OpenKcmException(
            ErrorReason.INVALID_ARGUMENT,
            "--count must be 1, or more with --out FILE; was " + count);
      }
      if (out != null) {
        return many();
      }
      try (ClientSystem clients = new ClientSystem()) {
        DataKeyServiceClient gw =
            clients.gateway(target.resolveApp(tenant, service), target.timeout());
        GenerateDataKeyResponse r =
            Cli.await(
                gw.generateDataKey(
                    GenerateDataKeyRequest.newBuilder()
                        .setTenantId(tenant)
                        .setServiceId(service)
                        .putAllContext(context)
                        .setKeyLength(keyLength)
                        .build()),
                target.timeout());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("plaintext", Base64.getEncoder().encodeToString(r.getPlaintext().toByteArray()));
        out.put("envelope", Base64.getEncoder().encodeToString(r.getEnvelope().toByteArray()));
        out.put("l3Version", r.getL3Version());
        Cli.printJson(out);
        return 0;
      }
    }

    private int many() throws java.io.IOException {
      long started = System.nanoTime();
      com.fasterxml.jackson.databind.ObjectMapper json =
          new com.fasterxml.jackson.databind.ObjectMapper();
      RewrapCommand.Progress progress =
          new RewrapCommand.Progress(System.err, "generate", count, 0);
      try (ClientSystem clients = new ClientSystem();
          java.io.BufferedWriter writer =
              java.nio.file.Files.newBufferedWriter(
                  out,
                  java.nio.charset.StandardCharsets.UTF_8,
                  java.nio.file.StandardOpenOption.CREATE,
                  java.nio.file.StandardOpenOption.APPEND)) {
        DataKeyServiceClient gw =
            clients.gateway(target.resolveApp(tenant, service), target.timeout());
        long made = 0;
        while (made < count) {
          int n = (int) Math.min(500, count - made);
          var r =
              Cli.await(
                  gw.generateDataKeys(
                      org.openkcm.protocol.gateway.v1.GenerateDataKeysRequest.newBuilder()
                          .setTenantId(tenant)
                          .setServiceId(service)
                          .putAllContext(context)
                          .setKeyLength(keyLength)
                          .setCount(n)
                          .build()),
                  target.timeout());
          for (var key : r.getKeysList()) {
            Map<String, Object> line = new LinkedHashMap<>();
            line.put(
                "envelope", Base64.getEncoder().encodeToString(key.getEnvelope().toByteArray()));
            line.put("context", context);
            writer.write(json.writeValueAsString(line));
            writer.newLine();
          }
          made += r.getKeysCount();
          progress.advance(r.getKeysCount());
        }
      }
      progress.finish();
      Cli.printJson(
          Map.of(
              "generated",
              count,
              "out",
              out.toString(),
              "seconds",
              (System.nanoTime() - started) / 1_000_000 / 1000.0));
      return 0;
    }
  }

  @Command(
      name = "decrypt",
      mixinStandardHelpOptions = true,
      description = "Open an envelope: prints {\"plaintext\": base64}.")
  static final class Decrypt implements Callable<Integer> {
    @Mixin GatewayTarget target;

    @Option(names = "--tenant", required = true, description = "Tenant id.")
    String tenant;

    @Option(names = "--envelope", required = true, description = "The envelope, base64.")
    String envelope;

    @Option(
        names = "--context",
        description = "Encryption context entry k=v (repeatable), as given to generate.")
    Map<String, String> context = new LinkedHashMap<>();

    @Override
    public Integer call() {
      byte[] env;
      try {
        env = Base64.getDecoder().decode(envelope.strip());
      } catch (IllegalArgumentException e) {
        throw new OpenKcmException(
            ErrorReason.INVALID_ARGUMENT, "--envelope is not valid base64: " + e.getMessage());
      }
      String service;
      try {
        service =
            EnvelopeCodec.decode(env)
                .header()
                .serviceId(); // the application the envelope belongs to
      } catch (EnvelopeException e) {
        throw new OpenKcmException(ErrorReason.of(e.reason()), e.getMessage());
      }
      try (ClientSystem clients = new ClientSystem()) {
        DataKeyServiceClient gw =
            clients.gateway(target.resolveApp(tenant, service), target.timeout());
        DecryptResponse r =
            Cli.await(
                gw.decrypt(
                    DecryptRequest.newBuilder()
                        .setTenantId(tenant)
                        .setEnvelope(ByteString.copyFrom(env))
                        .putAllContext(context)
                        .build()),
                target.timeout());
        Cli.printJson(
            Map.of(
                "plaintext", Base64.getEncoder().encodeToString(r.getPlaintext().toByteArray())));
        return 0;
      }
    }
  }

  /** Where the gateway is: --gateway HOST:PORT, else the data dir's endpoints.json. */
  static final class GatewayTarget {
    @Option(
        names = "--gateway",
        description = "Gateway HOST:PORT (default: from DATA_DIR/endpoints.json).")
    String gateway;

    @Option(
        names = "--data-dir",
        defaultValue = "./data",
        description = "Data dir of the running demo (default: ${DEFAULT-VALUE}).")
    java.nio.file.Path dataDir;

    @Option(
        names = "--timeout",
        defaultValue = "15s",
        description = "Deadline of the call, e.g. 500ms, 15s (default: ${DEFAULT-VALUE}).")
    String timeout;

    @Option(
        names = "--tls-dir",
        description =
            "mTLS client material: DIR/cli.crt, cli.key, ca.crt (default: the "
                + "demo's, from endpoints.json; none with --gateway).")
    java.nio.file.Path tlsDir;

    Target resolve() {
      return Target.resolve(gateway, dataDir, tlsDir, Endpoints::gateway);
    }

    /** The gateway, called as application {@code tenant}/{@code service}. */
    Target resolveApp(String tenant, String service) {
      return Target.resolveApp(gateway, dataDir, tlsDir, Endpoints::gateway, tenant, service);
    }

    Duration timeout() {
      return Cli.parseDuration(timeout);
    }
  }
}
