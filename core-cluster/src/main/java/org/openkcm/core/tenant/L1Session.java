package org.openkcm.core.tenant;

import java.time.Instant;
import java.util.Optional;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * What one tenant entity knows of its L1 and holds of its chain on this node right now: never
 * persisted, rebuilt by asking the customer's keystore after every start.
 *
 * <ul>
 *   <li>{@link Sealed}: no keys in memory;
 *   <li>{@link Failed}: no keys, and the last unseal failed (its error is the answer until the
 *       retry backoff has passed);
 *   <li>{@link Unsealed}: L2 and every L3 in memory, L1 last confirmed at {@code confirmed};
 *   <li>{@link Calling}: a call to the keystore is in flight ({@link L1Call}), over the state it
 *       started from.
 * </ul>
 */
sealed interface L1Session {

  L1Session SEALED = new Sealed();

  record Sealed() implements L1Session {}

  /**
   * @param stashedAnswered false until every command that waited for the failed unseal has had this
   *     error (they must not start another unseal themselves)
   */
  record Failed(OpenKcmException error, Instant at, boolean stashedAnswered) implements L1Session {}

  record Unsealed(UnsealedKeys keys, Instant confirmed) implements L1Session {
    @Override
    public String toString() {
      return "Unsealed[" + keys + ", confirmed=" + confirmed + "]";
    }
  }

  /**
   * @param before the state the call started from (never a {@code Calling})
   * @param waiting commands stashed until the answer
   * @param wiped the keys were wiped meanwhile (kill, kill-switch, seal): whatever the answer
   *     brings back is not kept
   */
  record Calling(L1Call call, L1Session before, int waiting, boolean wiped) implements L1Session {

    Calling withOneMoreWaiting() {
      return new Calling(call, before, waiting + 1, wiped);
    }
  }

  /** The keys in memory, if any. */
  default Optional<UnsealedKeys> heldKeys() {
    if (this instanceof Unsealed u) {
      return Optional.of(u.keys());
    }
    if (this instanceof Calling c) {
      return c.before().heldKeys();
    }
    return Optional.empty();
  }

  /** This state after a wipe (the caller has wiped the keys themselves). */
  default L1Session afterWipe() {
    if (this instanceof Unsealed) {
      return SEALED;
    }
    if (this instanceof Calling c) {
      return new Calling(c.call(), c.before().afterWipe(), c.waiting(), true);
    }
    return this;
  }

  /** The call in flight, if any. */
  default Optional<Calling> calling() {
    return this instanceof Calling c ? Optional.of(c) : Optional.empty();
  }
}
