package org.openkcm.gateway.tenantwatch;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The rules for serving a tenant from local state, on a fake clock. */
class TenantStatesTest {

  private final AtomicLong now = new AtomicLong(1_000);
  private final TenantStates states = new TenantStates(Duration.ofSeconds(5), now::get);

  private void confirmed(String tenant) {
    states.connected();
    assertTrue(states.confirm(tenant, states.generation()));
    assertTrue(states.mayServeLocally(tenant));
  }

  @Test
  void aConfirmationLastsOneLeaseAndAnotherCoreAnswerRenewsIt() {
    confirmed("acme");
    now.addAndGet(Duration.ofMillis(4_900).toNanos());
    assertTrue(states.mayServeLocally("acme"));
    now.addAndGet(Duration.ofMillis(200).toNanos());
    assertFalse(states.mayServeLocally("acme"), "silent past the lease: not served locally");
    assertTrue(states.confirm("acme", states.generation()), "the next Core answer renews it");
    assertTrue(states.mayServeLocally("acme"));
  }

  @Test
  void anEventSequenceThatJumpsReSyncsTheTenant() {
    confirmed("acme");
    assertTrue(states.answered("acme", 7));
    assertTrue(states.event("acme", 8));
    assertTrue(states.mayServeLocally("acme"));
    assertFalse(states.event("acme", 10), "event 9 was lost");
    assertFalse(states.mayServeLocally("acme"));
    assertTrue(states.confirm("acme", states.generation()));
    assertTrue(states.event("acme", 11));
    assertTrue(states.event("acme", 11), "a keys-wiped repeat of the current number is no gap");
  }

  @Test
  void aCoreAnswerAheadOfTheWatchReSyncsTheTenant() {
    confirmed("acme");
    assertTrue(states.answered("acme", 3));
    long token = states.generation();
    assertFalse(states.answered("acme", 4), "the Core is at an event the watch did not deliver");
    assertFalse(states.confirm("acme", token), "the call that carried it does not confirm");
    assertFalse(states.mayServeLocally("acme"));
    assertTrue(states.event("acme", 4), "the late event is no gap any more");
  }

  @Test
  void blockedDisconnectedAndKillSwitchEachStopLocalServing() {
    confirmed("acme");
    states.blocked("acme");
    assertFalse(states.mayServeLocally("acme"));
    confirmed("acme");
    states.killSwitch(true);
    assertFalse(states.mayServeLocally("acme"));
    states.killSwitch(false);
    confirmed("acme");
    states.disconnected();
    assertFalse(states.mayServeLocally("acme"));
    assertFalse(states.confirm("acme", states.generation()), "no confirmation while disconnected");
  }
}
