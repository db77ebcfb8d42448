package org.openkcm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The nodes' logging configuration ({@code config/logback.xml}) in a JVM of its own: text by
 * default, one JSON object per line with OPENKCM_LOG_FORMAT=json, the audit record's event and
 * correlation id as fields of their own.
 */
class JsonLogsTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  private static List<String> run(Map<String, String> env) throws Exception {
    ProcessBuilder pb =
        new ProcessBuilder(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Dlogback.configurationFile="
                + Path.of("..", "config", "logback.xml").toAbsolutePath().normalize(),
            "-cp",
            System.getProperty("java.class.path"),
            JsonLogsMain.class.getName());
    pb.environment().putAll(env);
    Path stdout = java.nio.file.Files.createTempFile("openkcm-logs", ".out");
    pb.redirectOutput(stdout.toFile());
    Process p = pb.start();
    String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), err);
    assertEquals(
        "",
        java.nio.file.Files.readString(stdout),
        "stdout belongs to command output: no logging, no logback status lines");
    List<String> lines = new ArrayList<>();
    err.lines().filter(l -> !l.isBlank()).forEach(lines::add);
    return lines;
  }

  @Test
  void jsonLinesCarryTheCorrelationIdAsAField() throws Exception {
    List<String> lines = run(Map.of("OPENKCM_LOG_FORMAT", "json"));
    assertEquals(2, lines.size(), String.join("\n", lines));
    JsonNode started = JSON.readTree(lines.get(0));
    assertEquals("node started", started.get("message").asText());
    assertEquals("INFO", started.get("level").asText());
    assertEquals("org.openkcm.core.CoreNode", started.get("logger_name").asText());
    assertTrue(started.has("@timestamp"));
    assertFalse(started.has("cid"), "no correlation id outside a record");

    JsonNode audit = JSON.readTree(lines.get(1));
    assertEquals("org.openkcm.audit", audit.get("logger_name").asText());
    assertEquals("c-7f3a", audit.get("cid").asText());
    assertEquals("datakey.generate", audit.get("event").asText());
    assertEquals("acme", JSON.readTree(audit.get("message").asText()).get("tenant").asText());
  }

  @Test
  void textIsTheDefault() throws Exception {
    List<String> lines = run(Map.of());
    assertEquals(2, lines.size(), String.join("\n", lines));
    assertTrue(
        lines.get(0).matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  CoreNode - node started"),
        lines.get(0));
  }
}
