package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.openkcm.core.testing.Rpc.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import com.google.protobuf.ByteString;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.junit.jupiter.api.Test;
import org.openkcm.core.keystore.DevFileKeystore;
import org.openkcm.core.testing.Rpc;
import org.openkcm.protocol.admin.v1.CheckL1Request;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.admin.v1.ReviveTenantRequest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.CreateKeyRequest;
import org.openkcm.protocol.gateway.v1.DataKeyServiceClient;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;
import org.openkcm.protocol.gateway.v1.GenerateDataKeysRequest;
import org.openkcm.protocol.gateway.v1.GetKeyRequest;
import org.slf4j.LoggerFactory;

/**
 * Runs a full demo scenario under the shipped logging configuration with the root logger at DEBUG,
 * then searches every line (and every stack trace) for the base64, base64url and hex of every key
 * the test saw: DEKs, and the development keystore's L1 and master-wrapping keys.
 */
class NoKeyMaterialInLogsIT {

  @Test
  void noKeyEverReachesALogLine() throws Exception {
    // The shipped logging configuration, with the root at DEBUG as an operator would set
    // OPENKCM_LOG_LEVEL.
    LoggerContext logging = (LoggerContext) LoggerFactory.getILoggerFactory();
    logging.reset();
    JoranConfigurator joran = new JoranConfigurator();
    joran.setContext(logging);
    joran.doConfigure(NoKeyMaterialInLogsIT.class.getResource("/logback.xml"));
    Logger root = logging.getLogger(Logger.ROOT_LOGGER_NAME);
    Level before = root.getLevel();
    ListAppender<ILoggingEvent> captured = new ListAppender<>();
    captured.setContext(logging);
    captured.start();
    root.addAppender(captured);
    root.setLevel(Level.DEBUG);
    Set<byte[]> secrets = new HashSet<>();
    Path dir = Files.createTempDirectory("openkcm-logs");
    try (DemoStack stack =
        DemoStack.start(
            dir,
            "test",
            ConfigFactory.empty(),
            ConfigFactory.parseMap(Map.of("openkcm.gateway.cache.enabled", true)))) {
      stack.ensureTenant("acme", "devfile:acme-root", "payments");
      ActorTestKit client =
          ActorTestKit.create(
              "logs-client", ConfigFactory.parseString("pekko.actor.provider = local"));
      GrpcClientSettings toGateway =
          GrpcClientSettings.connectToServiceAt(
                  "127.0.0.1", stack.gateway().grpcAddress().getPort(), client.system())
              .withTls(false)
              .withDeadline(Rpc.CALL);
      DataKeyServiceClient app = DataKeyServiceClient.create(toGateway, client.system());
      org.openkcm.protocol.gateway.v1.KeyVaultServiceClient vault =
          org.openkcm.protocol.gateway.v1.KeyVaultServiceClient.create(toGateway, client.system());
      int core = stack.core().grpcAddress().getPort();
      try {
        List<GenerateDataKeyResponse> keys = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
          keys.add(
              await(
                  app.generateDataKey(
                      GenerateDataKeyRequest.newBuilder()
                          .setTenantId("acme")
                          .setServiceId("payments")
                          .putContext("row", "1")
                          .setCorrelationId("logs-" + i)
                          .build())));
        }
        for (GenerateDataKeyResponse k : keys) {
          secrets.add(k.getPlaintext().toByteArray());
          await(
              app.decrypt(
                  DecryptRequest.newBuilder()
                      .setTenantId("acme")
                      .setEnvelope(k.getEnvelope())
                      .putContext("row", "1")
                      .build()));
        }
        await(
                app.generateDataKeys(
                    GenerateDataKeysRequest.newBuilder()
                        .setTenantId("acme")
                        .setServiceId("payments")
                        .setCount(50)
                        .build()))
            .getKeysList()
            .forEach(k -> secrets.add(k.getPlaintext().toByteArray()));
        var created =
            await(
                vault.createKey(
                    CreateKeyRequest.newBuilder()
                        .setTenantId("acme")
                        .setServiceId("payments")
                        .setSubject("alice")
                        .build()));
        secrets.add(created.getPlaintext().toByteArray());
        await(
            vault.getKey(
                GetKeyRequest.newBuilder()
                    .setTenantId("acme")
                    .setServiceId("payments")
                    .setKeyId(created.getKeyId())
                    .build()));
        // failures log too: a wrong context, a tampered envelope, a killed tenant
        byte[] tampered = keys.get(0).getEnvelope().toByteArray();
        tampered[tampered.length - 2] ^= 1;
        for (ByteString bad : List.of(keys.get(0).getEnvelope(), ByteString.copyFrom(tampered))) {
          OpenKcmException refused =
              assertThrows(
                  OpenKcmException.class,
                  () ->
                      await(
                          app.decrypt(
                              DecryptRequest.newBuilder()
                                  .setTenantId("acme")
                                  .setEnvelope(bad)
                                  .putContext("row", "2")
                                  .build())));
          assertEquals(ErrorReason.ENVELOPE_AUTHENTICATION_FAILED, refused.reason());
        }
        Rpc.admin(
            client.system(),
            core,
            a -> a.checkL1(CheckL1Request.newBuilder().setTenantId("acme").build()));
        Rpc.admin(
            client.system(),
            core,
            a ->
                a.killTenant(
                    KillTenantRequest.newBuilder()
                        .setTenantId("acme")
                        .setReason("log test")
                        .setRequestedBy("it")
                        .build()));
        Rpc.admin(
            client.system(),
            core,
            a ->
                a.reviveTenant(
                    ReviveTenantRequest.newBuilder()
                        .setTenantId("acme")
                        .setRequestedBy("it")
                        .build()));
      } finally {
        app.close();
        vault.close();
        client.shutdownTestKit();
      }
    } finally {
      root.setLevel(before);
      root.detachAppender(captured);
    }
    // the master key, every L2 and L3, recovered from the journal as a thief of the data directory
    // would
    List<byte[]> chain = JournalKeys.recover(dir);
    assertTrue(chain.size() >= 3, "master key, L2 and L3 recovered: " + chain.size());
    secrets.addAll(chain);
    // the development keystore's own keys (L1 and the master-key wrapping key) count as keys seen
    for (String line :
        Files.readAllLines(dir.resolve("dev-l1").resolve(DevFileKeystore.FILE_NAME))) {
      if (line.contains("=") && !line.startsWith("#")) {
        secrets.add(Base64.getDecoder().decode(line.substring(line.indexOf(':') + 1)));
      }
    }
    List<String> forms = new ArrayList<>();
    for (byte[] s : secrets) {
      forms.add(Base64.getEncoder().encodeToString(s));
      forms.add(Base64.getUrlEncoder().withoutPadding().encodeToString(s));
      forms.add(HexFormat.of().formatHex(s));
    }
    List<ILoggingEvent> events = new ArrayList<>(captured.list);
    long audit = events.stream().filter(e -> e.getLoggerName().equals("org.openkcm.audit")).count();
    assertTrue(
        audit >= 5,
        "the scenario was audited (" + audit + " audit lines of " + events.size() + " events)");
    for (ILoggingEvent e : events) {
      String text =
          e.getFormattedMessage()
              + (e.getThrowableProxy() == null
                  ? ""
                  : ThrowableProxyUtil.asString(e.getThrowableProxy()));
      String lower = text.toLowerCase();
      for (String f : forms) {
        assertTrue(
            !text.contains(f) && !lower.contains(f.toLowerCase()) || f.length() < 16,
            "key material in a log line of " + e.getLoggerName());
      }
    }
    System.out.println(
        "NoKeyMaterialInLogsIT: "
            + events.size()
            + " log events searched for "
            + secrets.size()
            + " keys in 3 encodings each");
  }
}
