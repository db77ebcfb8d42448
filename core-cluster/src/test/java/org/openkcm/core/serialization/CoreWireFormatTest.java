package org.openkcm.core.serialization;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import java.time.Instant;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.openkcm.core.killswitch.KillRecord;
import org.openkcm.core.killswitch.KillScope;
import org.openkcm.core.reply.Rejections;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * What crosses between Core nodes keeps its types: a rejection keeps its {@link ErrorReason}, a
 * kill record its {@link KillScope}. Serialized through the system's configured serializers (the
 * ones a remote hop uses), not by hand.
 */
class CoreWireFormatTest {

  private static final ActorTestKit testKit =
      ActorTestKit.create(
          ConfigFactory.parseString(
                  "pekko.actor.provider = cluster\n"
                      + "pekko.remote.artery.canonical.port = 0\n"
                      + "pekko.actor.serialize-messages = off\n")
              .withFallback(ConfigFactory.parseResources("core/serialization.conf"))
              .withFallback(ConfigFactory.load()));

  private static final Serialization serialization =
      SerializationExtension.get(Adapter.toClassic(testKit.system()));

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private static Object roundTrip(Object o) {
    byte[] bytes = serialization.serialize(o).get();
    var serializer = serialization.findSerializerFor(o);
    return serialization
        .deserialize(bytes, serializer.identifier(), Serializers.manifestFor(serializer, o))
        .get();
  }

  @Test
  void aRejectionCrossesTheClusterWithItsReasonAndMessage() {
    StatusReply<String> reply =
        Rejections.reject(ErrorReason.TENANT_KILLED, "tenant acme is killed since …");
    StatusReply<?> back = (StatusReply<?>) roundTrip(reply);
    OpenKcmException e = Rejections.parse(back.getError());
    assertEquals(ErrorReason.TENANT_KILLED, e.reason());
    assertEquals("tenant acme is killed since …", e.getMessage());
    assertEquals(
        RejectionSerializer.IDENTIFIER,
        serialization.findSerializerFor(reply.getError()).identifier(),
        "the typed serializer carries it, not a text form");
  }

  @Test
  void aReasonThisNodeDoesNotKnowArrivesAsInternalNamingIt() throws Exception {
    RejectionSerializer s = new RejectionSerializer();
    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
    try (java.io.DataOutputStream out = new java.io.DataOutputStream(bytes)) {
      out.writeUTF("FROM_THE_FUTURE");
      out.writeUTF("a newer peer said no");
    }
    OpenKcmException e = (OpenKcmException) s.fromBinary(bytes.toByteArray(), "R1");
    assertEquals(ErrorReason.INTERNAL, e.reason());
    assertTrue(e.getMessage().contains("FROM_THE_FUTURE"), e.getMessage());
    assertThrows(java.io.NotSerializableException.class, () -> s.fromBinary(new byte[] {1}, "R1"));
  }

  @Test
  void killRecordsKeepTheirScope() {
    for (KillScope scope :
        new KillScope[] {KillScope.TENANT, KillScope.GLOBAL, new KillScope.Region("eu-1")}) {
      KillRecord k = new KillRecord(scope, "breach", "so", Instant.EPOCH);
      KillRecord back = (KillRecord) roundTrip(k);
      assertEquals(k, back);
      assertInstanceOf(scope.getClass(), back.scope());
    }
  }

  @Test
  void scopesParseAndRefuseWhatTheyAreNot() {
    assertEquals(new KillScope.Region("eu-1"), KillScope.parse("region:eu-1"));
    assertEquals("region:eu-1", new KillScope.Region("eu-1").asString());
    assertEquals(KillScope.GLOBAL, KillScope.parseClusterWide("global"));
    IllegalArgumentException tenant =
        assertThrows(IllegalArgumentException.class, () -> KillScope.parseClusterWide("tenant"));
    assertTrue(tenant.getMessage().contains("'global' or 'region:<name>'"), tenant.getMessage());
    assertThrows(IllegalArgumentException.class, () -> KillScope.parse("region:"));
    assertThrows(IllegalArgumentException.class, () -> KillScope.parse("region:EU 1"));
    assertThrows(IllegalArgumentException.class, () -> KillScope.parse("everything"));
    assertTrue(KillScope.parse("unconfirmed") instanceof KillScope.Unconfirmed);
  }
}
