package org.openkcm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openkcm.systemtest.DemoStack;

/**
 * The L4 vault through the gateway API and the CLI, on each backend (memory, the real Redis and
 * PostgreSQL).
 */
class VaultIT {

  private static final ObjectMapper JSON = new ObjectMapper();

  @ParameterizedTest
  @ValueSource(strings = {"memory", "redis", "postgres"})
  void createGetDestroyAndForgetASubject(String backend) throws Exception {
    Path dir = Files.createTempDirectory("openkcm-vault");
    try (DemoStack stack =
        DemoStack.start(
            dir,
            "test",
            ConfigFactory.empty(),
            ConfigFactory.parseMap(
                Map.of(
                    "openkcm.gateway.vault.backend",
                    backend,
                    "openkcm.gateway.vault.redis.key-prefix",
                    "okcm-it")))) {
      String tenant = "vault-" + backend + "-" + System.nanoTime() % 100000;
      stack.ensureTenant(tenant, "devfile:" + tenant, "payments");
      String gw = "127.0.0.1:" + stack.gateway().grpcAddress().getPort();
      try {
        JsonNode created =
            ok(
                "key",
                "create",
                "--tenant",
                tenant,
                "--service",
                "payments",
                "--subject",
                "alice",
                "--context",
                "table=users",
                "--gateway",
                gw);
        String id = created.get("keyId").asText();
        assertTrue(id.matches("k_[0-9a-f]{32}"), id);
        assertEquals(
            created.get("plaintext").asText(),
            ok(
                    "key",
                    "get",
                    "--tenant",
                    tenant,
                    "--service",
                    "payments",
                    "--id",
                    id,
                    "--gateway",
                    gw)
                .get("plaintext")
                .asText());

        // another service of the same tenant neither reads nor shreds it
        assertTrue(
            fails(
                    "key",
                    "get",
                    "--tenant",
                    tenant,
                    "--service",
                    "billing",
                    "--id",
                    id,
                    "--gateway",
                    gw)
                .startsWith("error: KEY_NOT_FOUND:"));
        assertTrue(
            fails(
                    "key",
                    "destroy",
                    "--tenant",
                    tenant,
                    "--service",
                    "billing",
                    "--id",
                    id,
                    "--gateway",
                    gw)
                .startsWith("error: KEY_NOT_FOUND:"));
        assertEquals(
            0,
            ok(
                    "key",
                    "destroy",
                    "--tenant",
                    tenant,
                    "--service",
                    "billing",
                    "--subject",
                    "alice",
                    "--gateway",
                    gw)
                .get("destroyed")
                .asInt());
        assertEquals(
            created.get("plaintext").asText(),
            ok(
                    "key",
                    "get",
                    "--tenant",
                    tenant,
                    "--service",
                    "payments",
                    "--id",
                    id,
                    "--gateway",
                    gw)
                .get("plaintext")
                .asText(),
            "still there for its own service");

        JsonNode second =
            ok(
                "key",
                "create",
                "--tenant",
                tenant,
                "--service",
                "payments",
                "--subject",
                "alice",
                "--gateway",
                gw);
        JsonNode bobs =
            ok(
                "key",
                "create",
                "--tenant",
                tenant,
                "--service",
                "payments",
                "--subject",
                "bob",
                "--gateway",
                gw);

        assertTrue(
            ok(
                    "key",
                    "destroy",
                    "--tenant",
                    tenant,
                    "--service",
                    "payments",
                    "--id",
                    id,
                    "--gateway",
                    gw)
                .get("destroyedNow")
                .asBoolean());
        assertTrue(
            fails(
                    "key",
                    "get",
                    "--tenant",
                    tenant,
                    "--service",
                    "payments",
                    "--id",
                    id,
                    "--gateway",
                    gw)
                .startsWith("error: KEY_DESTROYED:"));
        assertTrue(
            !ok(
                    "key",
                    "destroy",
                    "--tenant",
                    tenant,
                    "--service",
                    "payments",
                    "--id",
                    id,
                    "--gateway",
                    gw)
                .get("destroyedNow")
                .asBoolean(),
            "destroying again is idempotent");

        assertEquals(
            1,
            ok(
                    "key",
                    "destroy",
                    "--tenant",
                    tenant,
                    "--service",
                    "payments",
                    "--subject",
                    "alice",
                    "--gateway",
                    gw)
                .get("destroyed")
                .asInt());
        assertTrue(
            fails(
                    "key",
                    "get",
                    "--tenant",
                    tenant,
                    "--service",
                    "payments",
                    "--id",
                    second.get("keyId").asText(),
                    "--gateway",
                    gw)
                .startsWith("error: KEY_DESTROYED:"));
        assertEquals(
            bobs.get("plaintext").asText(),
            ok(
                    "key",
                    "get",
                    "--tenant",
                    tenant,
                    "--service",
                    "payments",
                    "--id",
                    bobs.get("keyId").asText(),
                    "--gateway",
                    gw)
                .get("plaintext")
                .asText(),
            "bob's key untouched");

        assertTrue(
            fails(
                    "key",
                    "get",
                    "--tenant",
                    tenant,
                    "--service",
                    "payments",
                    "--id",
                    "k_00000000000000000000000000000000",
                    "--gateway",
                    gw)
                .startsWith("error: KEY_NOT_FOUND:"));
        assertTrue(
            fails(
                    "key",
                    "get",
                    "--tenant",
                    tenant,
                    "--service",
                    "payments",
                    "--id",
                    "nonsense",
                    "--gateway",
                    gw)
                .startsWith("error: INVALID_ARGUMENT:"));
      } finally {
        stack.gateway().wiring().vault().dropTenant(tenant).toCompletableFuture().join();
      }
    }
  }

  private static JsonNode ok(String... args) throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Cli.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    assertEquals(0, exit, err.toString());
    return JSON.readTree(out.toString());
  }

  private static String fails(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    assertEquals(1, Cli.run(args, new PrintWriter(out, true), new PrintWriter(err, true)));
    return err.toString().strip();
  }
}
