package org.openkcm.core.tenant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openkcm.core.keystore.DevFileKeystore;
import org.openkcm.core.keystore.L1KeystoreException;
import org.openkcm.core.keystore.L1Keystores;
import org.openkcm.core.keystore.RecordingKeystore;
import org.openkcm.core.killswitch.KillSwitchView;
import org.openkcm.core.seal.MasterKey;
import org.openkcm.core.tenant.KeyBatch.UnwrapItem;
import org.openkcm.core.tenant.KeyBatch.Unwrapped;
import org.openkcm.core.tenant.KeyBatch.WrapItem;
import org.openkcm.core.tenant.KeyBatch.Wrapped;
import org.openkcm.core.tenant.TenantEntity.Command;
import org.openkcm.core.tenant.TenantEntity.Event;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.key.KeyMaterial;

/**
 * The time rules of a tenant, on a clock the test moves: unseal retry backoff and L1 unavailable
 * grace.
 */
class TenantClockRulesTest {

  private static final ActorTestKit testKit = ActorTestKit.create(TenantEntityTest.CONFIG);
  private static final ExecutorService blocking = Executors.newCachedThreadPool();
  private static final L1KeystoreException OUTAGE =
      new L1KeystoreException(L1KeystoreException.Kind.UNAVAILABLE, "keystore unreachable");

  /** A clock that stands still until the test moves it. */
  static final class MovableClock extends Clock {
    private volatile Instant now = Instant.parse("2026-12-01T10:00:00Z");

    void advance(Duration d) {
      now = now.plus(d);
    }

    @Override
    public ZoneId getZone() {
      return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
      return this;
    }

    @Override
    public Instant instant() {
      return now;
    }
  }

  private final MovableClock clock = new MovableClock();
  private final List<TenantEvents.StatusChanged> published = new CopyOnWriteArrayList<>();
  private RecordingKeystore keystore;
  private EventSourcedBehaviorTestKit<Command, Event, TenantState> tenant;

  @AfterAll
  static void tearDown() {
    testKit.shutdownTestKit();
    blocking.shutdownNow();
  }

  @BeforeEach
  void setUp() throws Exception {
    keystore =
        new RecordingKeystore(
            new L1Keystores(
                List.of(
                    new DevFileKeystore(
                        Files.createTempDirectory("openkcm-clock"), true, blocking))));
    TenantDependencies deps =
        new TenantDependencies(
            keystore,
            new SecureRandom(),
            clock,
            new TenantSettings(
                1000, "crypto", Duration.ofHours(1), Duration.ofMinutes(5), Duration.ofSeconds(5)),
            KillSwitchView.NONE,
            MasterKey.unsealedWith(KeyMaterial.random(32, new SecureRandom())),
            published::add);
    tenant =
        EventSourcedBehaviorTestKit.create(testKit.system(), TenantEntity.create("acme", deps));
    assertTrue(summary(r -> new TenantEntity.Onboard("devfile:acme-root", "c", r)).isSuccess());
    assertTrue(summary(r -> new TenantEntity.CreateService("payments", "c", r)).isSuccess());
  }

  private StatusReply<TenantSummary> summary(
      java.util.function.Function<
              org.apache.pekko.actor.typed.ActorRef<StatusReply<TenantSummary>>, Command>
          f) {
    return tenant.<StatusReply<TenantSummary>>runCommand(f).reply();
  }

  private StatusReply<Unwrapped> unwrap(byte[] envelope) {
    return tenant
        .<StatusReply<Unwrapped>>runCommand(
            r -> new TenantEntity.UnwrapKeys(List.of(new UnwrapItem(envelope, Map.of())), "c", r))
        .reply();
  }

  private static ErrorReason reason(StatusReply<?> r) {
    assertTrue(r.isError(), () -> "expected a refusal, got " + r);
    return org.openkcm.core.reply.Rejections.parse(r.getError()).reason();
  }

  @Test
  void afterAFailedUnsealTheKeystoreIsAskedAgainOnlyAfterTheBackoff() {
    byte[] env =
        tenant
            .<StatusReply<Wrapped>>runCommand(
                r ->
                    new TenantEntity.WrapKeys(
                        "payments", List.of(new WrapItem(new byte[32], Map.of())), "c", r))
            .reply()
            .getValue()
            .envelopes()
            .get(0);
    tenant.restart();
    keystore.failUnwraps(OUTAGE);
    int calls = keystore.unwrapCalls();
    assertEquals(ErrorReason.L1_UNAVAILABLE, reason(unwrap(env)));
    assertEquals(calls + 1, keystore.unwrapCalls());
    keystore.failUnwraps(
        null); // the keystore is back, but the backoff still answers the last failure
    clock.advance(Duration.ofSeconds(4));
    assertEquals(ErrorReason.L1_UNAVAILABLE, reason(unwrap(env)));
    assertEquals(
        calls + 1,
        keystore.unwrapCalls(),
        "within the backoff the customer's keystore is not asked");
    clock.advance(Duration.ofSeconds(2));
    assertTrue(unwrap(env).isSuccess(), "after the backoff it is asked again, and answers");
    assertEquals(calls + 2, keystore.unwrapCalls());
  }

  @Test
  void anUnreachableKeystoreIsToleratedForTheGraceThenTheKeysAreWipedAndGatewaysTold() {
    keystore.failUnwraps(OUTAGE);
    assertEquals(
        ErrorReason.L1_UNAVAILABLE, reason(summary(r -> new TenantEntity.CheckL1("c", r))));
    assertTrue(
        summary(TenantEntity.GetSummary::new).getValue().unsealed(),
        "within the grace the keys stay");
    clock.advance(Duration.ofMinutes(4));
    assertEquals(
        ErrorReason.L1_UNAVAILABLE, reason(summary(r -> new TenantEntity.CheckL1("c", r))));
    assertTrue(summary(TenantEntity.GetSummary::new).getValue().unsealed());
    assertTrue(
        published.stream()
            .noneMatch(e -> e.kind() == org.openkcm.protocol.event.TenantEventKind.KEYS_WIPED));

    clock.advance(Duration.ofMinutes(2));
    assertEquals(
        ErrorReason.L1_UNAVAILABLE, reason(summary(r -> new TenantEntity.CheckL1("c", r))));
    TenantSummary after = summary(TenantEntity.GetSummary::new).getValue();
    assertFalse(after.unsealed(), "beyond the grace the keys are wiped");
    assertEquals(TenantStatus.ACTIVE, after.status(), "an outage is not a revocation");
    assertTrue(
        published.stream()
            .anyMatch(
                e ->
                    e.kind() == org.openkcm.protocol.event.TenantEventKind.KEYS_WIPED
                        && e.tenantId().equals("acme")),
        "gateways are told: " + published);
  }
}
