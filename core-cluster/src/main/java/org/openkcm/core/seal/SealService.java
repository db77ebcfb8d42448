package org.openkcm.core.seal;

import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.pattern.StatusReply;
import org.openkcm.core.keystore.L1Keystore;
import org.openkcm.core.keystore.L1Reference;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.key.KeyMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Seals and unseals this node: initialises the cluster's seal (Shamir shares printed once, or
 * auto-unseal through an L1 keystore), collects shares entered by operators until the threshold is
 * reached, verifies the reconstruction, and seals the node again on request (wiping the master key
 * and every tenant key).
 */
public final class SealService {

  private static final Logger log = LoggerFactory.getLogger(SealService.class);

  /** What an operator sees. */
  public record Status(
      boolean sealed, boolean initialised, String mode, int threshold, int shares, int progress) {}

  private final ActorSystem<?> system;
  private final ActorRef<SealConfigEntity.Command> config;
  private final MasterKey master;
  private final L1Keystore keystore;
  private final Duration timeout;
  private final Runnable wipeLocalTenants;
  private final SecureRandom random = new SecureRandom();

  /**
   * The shares entered so far, one per operator (an operator entering again replaces their own).
   */
  private final java.util.Map<String, ShamirShares.Share> pending = new java.util.LinkedHashMap<>();

  public SealService(
      ActorSystem<?> system,
      ActorRef<SealConfigEntity.Command> config,
      MasterKey master,
      L1Keystore keystore,
      Duration timeout,
      Runnable wipeLocalTenants) {
    this.system = system;
    this.config = config;
    this.master = master;
    this.keystore = keystore;
    this.timeout = timeout;
    this.wipeLocalTenants = wipeLocalTenants;
  }

  /**
   * Starts the seal feature on {@code system}: this node's (sealed) master key and the cluster's
   * seal configuration singleton; {@code wipeLocalTenants} runs when the node is sealed.
   */
  public static SealService init(
      ActorSystem<?> system, L1Keystore keystore, Duration timeout, Runnable wipeLocalTenants) {
    ActorRef<SealConfigEntity.Command> config =
        org.apache.pekko.cluster.typed.ClusterSingleton.get(system)
            .init(
                org.apache.pekko.cluster.typed.SingletonActor.of(
                    SealConfigEntity.create(), "seal-config"));
    MasterKey master = new MasterKey();
    NodeMasterKey.get(system).set(master);
    return new SealService(system, config, master, keystore, timeout, wipeLocalTenants);
  }

  public MasterKey master() {
    return master;
  }

  public CompletionStage<Status> status() {
    return get().thenApply(this::status);
  }

  private synchronized Status status(SealConfigEntity.State s) {
    return s.config()
        .map(
            c ->
                new Status(
                    !master.isUnsealed(),
                    true,
                    c.mode(),
                    c.threshold(),
                    c.shares(),
                    pending.size()))
        .orElseGet(() -> new Status(!master.isUnsealed(), false, "", 0, 0, 0));
  }

  /** Shamir mode: generates the master key, answers its shares (once), and unseals this node. */
  public CompletionStage<List<String>> initShamir(int shares, int threshold, String by) {
    KeyMaterial key = KeyMaterial.random(32, random);
    List<String> parts;
    try {
      parts = ShamirShares.split(key, shares, threshold, random);
    } catch (OpenKcmException e) {
      key.wipe();
      return CompletableFuture.failedFuture(e);
    }
    byte[] check = MasterKey.unsealedWith(KeyMaterial.copyOf(key.revealBytes())).checkBlob();
    SealConfigEntity.Config c =
        new SealConfigEntity.Config("shamir", shares, threshold, check, "", new byte[0], Map.of());
    return ask(r -> new SealConfigEntity.Initialise(c, r))
        .thenApply(
            st -> {
              master.install(key);
              AuditLog.record(
                  "seal.init",
                  "mode",
                  "shamir",
                  "shares",
                  shares,
                  "threshold",
                  threshold,
                  "by",
                  by);
              log.warn(
                  "seal initialised: {} shares, threshold {}; this node is unsealed",
                  shares,
                  threshold);
              return parts;
            })
        .whenComplete(
            (ok, failure) -> {
              if (failure != null) {
                key.wipe();
              }
            });
  }

  /**
   * Auto mode: unwraps the master key through the keystore, creating and wrapping one on first
   * start.
   */
  public CompletionStage<Status> autoUnseal(L1Reference ref) {
    return get()
        .thenCompose(
            s -> {
              if (s.config().isEmpty()) {
                KeyMaterial key = KeyMaterial.random(32, random);
                Map<String, String> ctx = Map.of("openkcm:purpose", "master-key");
                byte[] check =
                    MasterKey.unsealedWith(KeyMaterial.copyOf(key.revealBytes())).checkBlob();
                return keystore
                    .wrap(ref, key, ctx, "auto-unseal-init")
                    .thenCompose(
                        wrapped ->
                            ask(
                                r ->
                                    new SealConfigEntity.Initialise(
                                        new SealConfigEntity.Config(
                                            "auto", 0, 0, check, ref.asString(), wrapped, ctx),
                                        r)))
                    .thenApply(
                        st -> {
                          master.install(key);
                          AuditLog.record("seal.init", "mode", "auto", "l1", ref);
                          return status(st);
                        });
              }
              SealConfigEntity.Config c = s.config().get();
              if (!c.mode().equals("auto")) {
                return CompletableFuture.failedFuture(
                    new OpenKcmException(
                        ErrorReason.CORE_SEALED,
                        "the cluster's seal is " + c.mode() + ", not auto: unseal with shares"));
              }
              return keystore
                  .unwrap(
                      L1Reference.parse(c.autoL1Reference()),
                      c.autoWrapped(),
                      c.autoContext(),
                      "auto-unseal")
                  .thenApply(
                      key -> {
                        if (!MasterKey.verifies(key, c.checkBlob())) {
                          key.wipe();
                          throw new OpenKcmException(
                              ErrorReason.UNSEAL_FAILED,
                              "auto-unseal returned a key that is not the master key");
                        }
                        master.install(key);
                        AuditLog.record(
                            "seal.unseal",
                            "mode",
                            "auto",
                            "l1",
                            c.autoL1Reference(),
                            "outcome",
                            "ok");
                        return status(s);
                      });
            });
  }

  /**
   * Enters one operator's share; unseals when shares of the threshold's number of distinct
   * operators are in and the key verifies. Any failure clears every pending share: the operators
   * start over.
   */
  public CompletionStage<Status> submitShare(String text, String by) {
    ShamirShares.Share share;
    try {
      share = ShamirShares.parse(text);
    } catch (OpenKcmException e) {
      synchronized (this) {
        discardPending(by, e);
      }
      return CompletableFuture.failedFuture(e);
    }
    return get()
        .thenApply(
            s -> {
              SealConfigEntity.Config c =
                  s.config()
                      .orElseThrow(
                          () ->
                              new OpenKcmException(
                                  ErrorReason.CORE_SEALED,
                                  "the seal is not initialised yet: run admin init first"));
              if (master.isUnsealed()) {
                return status(s);
              }
              synchronized (this) {
                if (share.threshold() != c.threshold()) {
                  throw discardPending(
                      by,
                      new OpenKcmException(
                          ErrorReason.UNSEAL_FAILED,
                          "this share belongs to a "
                              + share.threshold()
                              + "-of-n seal, this cluster's is "
                              + c.threshold()
                              + "-of-"
                              + c.shares()));
                }
                if (share.index() > c.shares()) {
                  throw discardPending(
                      by,
                      new OpenKcmException(
                          ErrorReason.INVALID_ARGUMENT,
                          "share index "
                              + share.index()
                              + ", but this cluster's seal has "
                              + c.shares()
                              + " shares"));
                }
                for (var e : pending.entrySet()) {
                  if (!e.getKey().equals(by) && e.getValue().index() == share.index()) {
                    throw discardPending(
                        by,
                        new OpenKcmException(
                            ErrorReason.INVALID_ARGUMENT,
                            "share "
                                + share.index()
                                + " was already entered by "
                                + e.getKey()
                                + "; each operator enters their own share"));
                  }
                }
                pending.put(by, share);
                AuditLog.record(
                    "seal.share",
                    "index",
                    share.index(),
                    "progress",
                    pending.size(),
                    "threshold",
                    c.threshold(),
                    "by",
                    by);
                if (pending.size() < c.threshold()) {
                  return status(s);
                }
                KeyMaterial candidate = ShamirShares.join(List.copyOf(pending.values()));
                pending.clear();
                if (!MasterKey.verifies(candidate, c.checkBlob())) {
                  candidate.wipe();
                  AuditLog.record(
                      "seal.unseal", "mode", "shamir", "outcome", "wrong-shares", "by", by);
                  throw new OpenKcmException(
                      ErrorReason.UNSEAL_FAILED,
                      "the shares entered do not reconstruct the master key"
                          + " (one is wrong or from another cluster); enter "
                          + c.threshold()
                          + " shares again");
                }
                master.install(candidate);
                AuditLog.record("seal.unseal", "mode", "shamir", "outcome", "ok", "by", by);
                log.warn("node unsealed with {} shares", c.threshold());
                return status(s);
              }
            });
  }

  /** Forgets every pending share after a failure (audited); answers {@code e} for throwing. */
  private OpenKcmException discardPending(String by, OpenKcmException e) {
    if (!pending.isEmpty()) {
      AuditLog.record(
          "seal.share", "outcome", e.reason(), "by", by, "pending-discarded", pending.size());
    }
    pending.clear();
    return e;
  }

  /** Seals this node: the master key and every tenant key held here are wiped. */
  public CompletionStage<Status> seal(String by) {
    master.wipe();
    synchronized (this) {
      pending.clear();
    }
    wipeLocalTenants.run();
    AuditLog.record("seal.seal", "by", by);
    log.warn("node SEALED by {}: master key and tenant keys wiped", by);
    return status();
  }

  private CompletionStage<SealConfigEntity.State> get() {
    return ask(SealConfigEntity.Get::new);
  }

  private CompletionStage<SealConfigEntity.State> ask(
      Function<ActorRef<StatusReply<SealConfigEntity.State>>, SealConfigEntity.Command> command) {
    return AskPattern.<SealConfigEntity.Command, SealConfigEntity.State>askWithStatus(
            config, command::apply, timeout, system.scheduler())
        .exceptionally(
            failure -> {
              throw org.openkcm.core.reply.Rejections.parse(failure);
            });
  }
}
