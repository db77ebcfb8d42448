package org.openkcm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.openkcm.cli.DataKeyCommand.GatewayTarget;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.envelope.EnvelopeException;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.DecryptItem;
import org.openkcm.protocol.gateway.v1.RewrapBatchRequest;
import org.openkcm.protocol.gateway.v1.RewrapBatchResult;
import org.openkcm.protocol.gateway.v1.RewrapRequest;
import org.openkcm.protocol.gateway.v1.RewrapResponse;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code ./openkcm datakey rewrap}: envelopes of older L3 versions become envelopes of the active
 * version, with the same encryption context; the data keys never leave the Core. One envelope
 * ({@code --envelope}), or a whole file of JSON lines ({@code --in}/{@code --out}) with a progress
 * bar, a summary, and resumption: a rerun with the same files continues after the last line
 * written.
 */
@Command(
    name = "rewrap",
    mixinStandardHelpOptions = true,
    description = {
      "Move envelopes to the active L3 version, keeping their context. One: --envelope B64",
      "[--context k=v]... -> {\"envelope\", \"l3Version\"}. Many: --in FILE --out FILE (JSON lines",
      "{\"envelope\": b64, \"context\": {...}}; each output line carries the new envelope, its",
      "version and context, or an error). Rerun with the same files to resume."
    })
final class RewrapCommand implements Callable<Integer> {

  private static final ObjectMapper JSON = new ObjectMapper();

  @Mixin GatewayTarget target;

  @Option(names = "--tenant", required = true, description = "Tenant id.")
  String tenant;

  @Option(names = "--envelope", description = "One envelope, base64.")
  String envelope;

  @Option(
      names = "--context",
      description = "Encryption context entry k=v (repeatable), as given to generate.")
  Map<String, String> context = new LinkedHashMap<>();

  @Option(names = "--in", description = "JSON lines of {\"envelope\", \"context\"} to rewrap.")
  Path in;

  @Option(names = "--out", description = "Where the rewrapped JSON lines go (appended: resumable).")
  Path out;

  @Option(
      names = "--batch",
      defaultValue = "500",
      description = "Envelopes per call (default: ${DEFAULT-VALUE}).")
  int batch;

  @Override
  public Integer call() throws IOException {
    if (in == null && out == null) {
      if (envelope == null) {
        throw new OpenKcmException(
            ErrorReason.INVALID_ARGUMENT, "give --envelope B64, or --in FILE --out FILE");
      }
      return one();
    }
    if (in == null || out == null || envelope != null) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, "a file rewrap needs both --in and --out (no --envelope)");
    }
    if (batch < 1 || batch > 10_000) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, "--batch must be 1..10000, was " + batch);
    }
    return file();
  }

  private int one() {
    byte[] env = base64(envelope, "--envelope");
    try (ClientSystem clients = new ClientSystem()) {
      DataKeyServiceClient gw =
          clients.gateway(target.resolveApp(tenant, serviceOf(env)), target.timeout());
      RewrapResponse r =
          Cli.await(
              gw.rewrap(
                  RewrapRequest.newBuilder()
                      .setTenantId(tenant)
                      .setEnvelope(ByteString.copyFrom(env))
                      .putAllContext(context)
                      .build()),
              target.timeout());
      Map<String, Object> json = new LinkedHashMap<>();
      json.put("envelope", Base64.getEncoder().encodeToString(r.getEnvelope().toByteArray()));
      json.put("l3Version", r.getL3Version());
      Cli.printJson(json);
      return 0;
    }
  }

  /** One input line, parsed (or why it cannot be). */
  private record Line(byte[] envelope, Map<String, String> context, String service, String error) {}

  private int file() throws IOException {
    if (!Files.isReadable(in)) {
      throw new OpenKcmException(ErrorReason.INVALID_ARGUMENT, "--in " + in + " is not readable");
    }
    long total;
    try (Stream<String> lines = Files.lines(in)) {
      total = lines.filter(l -> !l.isBlank()).count();
    }
    long done = 0;
    if (Files.exists(out)) {
      try (Stream<String> lines = Files.lines(out)) {
        done = lines.filter(l -> !l.isBlank()).count();
      }
    }
    if (done > total) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          "--out " + out + " has more lines (" + done + ") than --in " + in + " (" + total + ")");
    }
    Progress progress = new Progress(System.err, "rewrap", total, done);
    long resumed = done;
    long ok = 0;
    Map<String, Long> failures = new TreeMap<>();
    Map<Long, Long> versions = new TreeMap<>();
    try (ClientSystem clients = new ClientSystem();
        BufferedReader reader = Files.newBufferedReader(in, StandardCharsets.UTF_8);
        BufferedWriter writer =
            Files.newBufferedWriter(
                out,
                StandardCharsets.UTF_8,
                StandardOpenOption.CREATE,
                StandardOpenOption.APPEND)) {
      Map<String, DataKeyServiceClient> gateways = new HashMap<>();
      long skipped = 0;
      List<Line> chunk = new ArrayList<>();
      String text;
      while ((text = reader.readLine()) != null) {
        if (text.isBlank()) {
          continue;
        }
        if (skipped < resumed) {
          skipped++;
          continue;
        }
        chunk.add(parse(text));
        if (chunk.size() == batch) {
          ok += flush(chunk, clients, gateways, writer, failures, versions);
          progress.advance(chunk.size());
          chunk.clear();
        }
      }
      if (!chunk.isEmpty()) {
        ok += flush(chunk, clients, gateways, writer, failures, versions);
        progress.advance(chunk.size());
      }
    }
    progress.finish();
    Map<String, Object> summary = new LinkedHashMap<>();
    summary.put("in", total);
    summary.put("resumedAfter", resumed);
    summary.put("rewrapped", ok);
    summary.put("failed", failures);
    summary.put("l3Versions", versions);
    summary.put("seconds", Math.round(progress.seconds() * 1000) / 1000.0);
    summary.put("perSecond", Math.round(progress.rate()));
    Cli.printJson(summary);
    return failures.isEmpty() ? 0 : 1;
  }

  /** Rewraps {@code chunk} (grouped by service: each call acts as that service's application). */
  private long flush(
      List<Line> chunk,
      ClientSystem clients,
      Map<String, DataKeyServiceClient> gateways,
      BufferedWriter writer,
      Map<String, Long> failures,
      Map<Long, Long> versions)
      throws IOException {
    Map<String, Object>[] answers = newAnswers(chunk.size());
    Map<String, List<Integer>> byService = new LinkedHashMap<>();
    for (int i = 0; i < chunk.size(); i++) {
      Line l = chunk.get(i);
      if (l.error() != null) {
        answers[i] = error("INVALID_ARGUMENT", l.error());
      } else {
        byService.computeIfAbsent(l.service(), s -> new ArrayList<>()).add(i);
      }
    }
    for (Map.Entry<String, List<Integer>> e : byService.entrySet()) {
      DataKeyServiceClient gw =
          gateways.computeIfAbsent(
              e.getKey(),
              service -> clients.gateway(target.resolveApp(tenant, service), target.timeout()));
      RewrapBatchRequest.Builder req = RewrapBatchRequest.newBuilder().setTenantId(tenant);
      for (int i : e.getValue()) {
        req.addItems(
            DecryptItem.newBuilder()
                .setEnvelope(ByteString.copyFrom(chunk.get(i).envelope()))
                .putAllContext(chunk.get(i).context()));
      }
      List<RewrapBatchResult> results =
          Cli.await(gw.rewrapBatch(req.build()), target.timeout()).getResultsList();
      for (int j = 0; j < results.size(); j++) {
        int i = e.getValue().get(j);
        RewrapBatchResult r = results.get(j);
        if (r.hasError()) {
          answers[i] = error(r.getError().getReason(), r.getError().getMessage());
        } else {
          Map<String, Object> json = new LinkedHashMap<>();
          json.put(
              "envelope",
              Base64.getEncoder().encodeToString(r.getRewrapped().getEnvelope().toByteArray()));
          json.put("l3Version", r.getRewrapped().getL3Version());
          json.put("context", chunk.get(i).context());
          answers[i] = json;
        }
      }
    }
    long ok = 0;
    for (Map<String, Object> a : answers) {
      writer.write(JSON.writeValueAsString(a));
      writer.newLine();
      if (a.containsKey("error")) {
        @SuppressWarnings("unchecked")
        Map<String, Object> err = (Map<String, Object>) a.get("error");
        failures.merge((String) err.get("reason"), 1L, Long::sum);
      } else {
        ok++;
        versions.merge(((Number) a.get("l3Version")).longValue(), 1L, Long::sum);
      }
    }
    writer.flush(); // a line written is a line done: an interruption resumes after it
    return ok;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object>[] newAnswers(int n) {
    return (Map<String, Object>[]) new Map[n];
  }

  private static Map<String, Object> error(String reason, String message) {
    return Map.of("error", Map.of("reason", reason, "message", message));
  }

  private static Line parse(String text) {
    try {
      JsonNode node = JSON.readTree(text);
      JsonNode env = node.get("envelope");
      if (env == null || !env.isTextual()) {
        return new Line(null, Map.of(), null, "no \"envelope\" string in this line");
      }
      byte[] bytes = Base64.getDecoder().decode(env.asText().strip());
      Map<String, String> ctx = new LinkedHashMap<>();
      JsonNode c = node.get("context");
      if (c != null && c.isObject()) {
        c.fields().forEachRemaining(f -> ctx.put(f.getKey(), f.getValue().asText()));
      }
      return new Line(bytes, ctx, serviceOf(bytes), null);
    } catch (IOException | IllegalArgumentException e) {
      return new Line(null, Map.of(), null, "not a JSON line with a base64 envelope");
    } catch (OpenKcmException e) {
      return new Line(null, Map.of(), null, e.getMessage());
    }
  }

  private static byte[] base64(String text, String option) {
    try {
      return Base64.getDecoder().decode(text.strip());
    } catch (IllegalArgumentException e) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT, option + " is not valid base64: " + e.getMessage());
    }
  }

  /** The service an envelope belongs to (the application identity the call is made as). */
  private static String serviceOf(byte[] envelope) {
    try {
      return EnvelopeCodec.decode(envelope).header().serviceId();
    } catch (EnvelopeException e) {
      throw new OpenKcmException(ErrorReason.of(e.reason()), e.getMessage());
    }
  }

  /** A progress bar on stderr, redrawn at most five times a second. */
  static final class Progress {
    private final PrintStream to;
    private final String label;
    private final long total;
    private final long startAt;
    private final long started = System.nanoTime();
    private long done;
    private long lastDraw;

    Progress(PrintStream to, String label, long total, long alreadyDone) {
      this.to = to;
      this.label = label;
      this.total = total;
      this.startAt = alreadyDone;
      this.done = alreadyDone;
      if (alreadyDone > 0) {
        to.printf("resuming after line %,d of %,d%n", alreadyDone, total);
      }
    }

    void advance(long n) {
      done += n;
      long now = System.nanoTime();
      if (now - lastDraw > 200_000_000L || done == total) {
        lastDraw = now;
        draw();
      }
    }

    void finish() {
      draw();
      to.println();
    }

    double seconds() {
      return (System.nanoTime() - started) / 1e9;
    }

    double rate() {
      double s = seconds();
      return s <= 0 ? 0 : (done - startAt) / s;
    }

    private void draw() {
      int width = 30;
      int filled = total == 0 ? width : (int) (width * done / total);
      to.printf(
          "\r%s [%s%s] %,d/%,d (%d%%) %,.0f/s",
          label,
          "#".repeat(filled),
          ".".repeat(width - filled),
          done,
          total,
          total == 0 ? 100 : done * 100 / total,
          rate());
    }
  }
}
