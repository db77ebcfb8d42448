package org.openkcm.core.tenant;

import static org.openkcm.core.tenant.TenantRejections.reject;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.pattern.StatusReply;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReplyBuilder;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;
import org.openkcm.core.crypto.KeyWrap;
import org.openkcm.core.keystore.L1Reference;
import org.openkcm.core.serialization.CborSerializable;
import org.openkcm.protocol.envelope.EncryptionContext;
import org.openkcm.protocol.envelope.Envelope;
import org.openkcm.protocol.envelope.EnvelopeCipher;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.envelope.EnvelopeException;
import org.openkcm.protocol.envelope.EnvelopeHeader;
import org.openkcm.protocol.envelope.Identifiers;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.key.KeyMaterial;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One tenant: its L1 reference, its L1-wrapped L2 and L2-wrapped L3s (persisted), and — only in this
 * actor's memory — the unsealed L2/L3 that wrap and unwrap data keys.
 *
 * <p>The first command that needs keys after a start (or failover) unseals the chain: L1 unwraps L2 in the
 * customer's keystore (asynchronously, {@code pipeToSelf}), L2 unwraps every L3 locally. Commands that
 * arrive meanwhile are stashed. Wrap and unwrap persist nothing.
 */
public final class TenantEntity
    extends EventSourcedBehaviorWithEnforcedReplies<TenantEntity.Command, TenantEntity.Event, TenantEntity.State> {

  public static final EntityTypeKey<Command> ENTITY_KEY = EntityTypeKey.create(Command.class, "Tenant");

  private static final Logger log = LoggerFactory.getLogger(TenantEntity.class);
  private static final Logger audit = LoggerFactory.getLogger("org.openkcm.audit");
  private static final int KEY_BYTES = 32;

  // ---------------------------------------------------------------- protocol

  public sealed interface Command extends CborSerializable {}

  /** Links the tenant's L1 and generates its L2. */
  public record Onboard(String l1Reference, String correlationId, ActorRef<StatusReply<TenantSummary>> replyTo)
      implements Command {}

  /** Generates the L3 of a new service. */
  public record CreateService(String serviceId, String correlationId, ActorRef<StatusReply<TenantSummary>> replyTo)
      implements Command {}

  public record GetSummary(ActorRef<StatusReply<TenantSummary>> replyTo) implements Command {}

  /** Wraps a batch of DEKs with the current L3 of {@code serviceId}: all succeed or the batch is rejected. */
  public record WrapKeys(String serviceId, List<WrapItem> items, String correlationId,
      ActorRef<StatusReply<Wrapped>> replyTo) implements Command {}

  /** Unwraps a batch of envelopes; every item answers on its own. */
  public record UnwrapKeys(List<UnwrapItem> items, String correlationId, ActorRef<StatusReply<Unwrapped>> replyTo)
      implements Command {}

  /** Messages the entity sends itself; they never leave the node. */
  private sealed interface Internal extends Command {}

  private record OnboardL1Done(Onboard request, KeyMaterial l2, Map<String, String> l1Context,
      Optional<byte[]> wrappedL2, Optional<Throwable> failure) implements Internal {}

  private record UnsealDone(Optional<KeyMaterial> l2, Optional<Throwable> failure, String correlationId)
      implements Internal {}

  private record ClearUnsealFailure() implements Internal {}

  public record WrapItem(byte[] plaintext, Map<String, String> context) implements CborSerializable {
    @Override
    public String toString() {
      return "WrapItem[redacted " + plaintext.length + " bytes, context=" + context.keySet() + "]";
    }
  }

  public record UnwrapItem(byte[] envelope, Map<String, String> context) implements CborSerializable {}

  public record ServiceSummary(String serviceId, long l3Version) implements CborSerializable {}

  public record TenantSummary(String tenantId, String l1Reference, long l2Version, String status,
      List<ServiceSummary> services, boolean unsealed) implements CborSerializable {}

  public record Wrapped(List<byte[]> envelopes, long l3Version) implements CborSerializable {}

  /** One unwrap outcome: a plaintext, or an error reason and message (then the plaintext is empty). */
  public record UnwrapOutcome(byte[] plaintext, String errorReason, String errorMessage) implements CborSerializable {
    static UnwrapOutcome ok(byte[] plaintext) {
      return new UnwrapOutcome(plaintext, "", "");
    }

    static UnwrapOutcome failed(ErrorReason reason, String message) {
      return new UnwrapOutcome(new byte[0], reason.name(), message);
    }

    public boolean isOk() {
      return errorReason.isEmpty();
    }

    @Override
    public String toString() {
      return isOk() ? "UnwrapOutcome[ok, redacted]" : "UnwrapOutcome[" + errorReason + "]";
    }
  }

  public record Unwrapped(List<UnwrapOutcome> outcomes) implements CborSerializable {}

  // ---------------------------------------------------------------- events and state

  public sealed interface Event extends CborSerializable {}

  /** The tenant exists; its L2 (version {@code l2Version}) is persisted only wrapped by its L1. */
  public record TenantOnboarded(String tenantId, String l1Reference, long l2Version, byte[] wrappedL2,
      Map<String, String> l1Context, Instant at, String correlationId) implements Event {}

  /** A service exists; its L3 is persisted only wrapped by the tenant's L2. */
  public record ServiceCreated(String serviceId, long l3Version, long l2Version, byte[] wrappedL3, Instant at,
      String correlationId) implements Event {}

  public sealed interface State extends CborSerializable {}

  public record Unregistered() implements State {}

  public record Registered(String tenantId, String l1Reference, long l2Version, byte[] wrappedL2,
      Map<String, String> l1Context, Instant onboardedAt, Map<String, ServiceKeys> services) implements State {

    Registered withService(ServiceKeys service) {
      Map<String, ServiceKeys> next = new TreeMap<>(services);
      next.put(service.serviceId(), service);
      return new Registered(tenantId, l1Reference, l2Version, wrappedL2, l1Context, onboardedAt, next);
    }
  }

  /** Every L3 version of one service, wrapped by the L2 version named in each. */
  public record ServiceKeys(String serviceId, long currentVersion, List<WrappedL3> versions)
      implements CborSerializable {}

  public record WrappedL3(long version, long l2Version, byte[] blob) implements CborSerializable {}

  // ---------------------------------------------------------------- wiring

  public static void init(ActorSystem<?> system, TenantDependencies deps) {
    ClusterSharding.get(system).init(
        Entity.of(ENTITY_KEY, ctx -> create(ctx.getEntityId(), deps)).withRole(deps.settings().shardRole()));
  }

  public static Behavior<Command> create(String tenantId, TenantDependencies deps) {
    return Behaviors.setup(ctx -> new TenantEntity(tenantId, deps, ctx));
  }

  private final String tenantId;
  private final TenantDependencies deps;
  private final ActorContext<Command> context;

  // transient, never persisted
  private Optional<UnsealedKeys> unsealed = Optional.empty();
  private boolean l1CallInFlight;
  private Optional<OpenKcmException> unsealFailure = Optional.empty();

  private TenantEntity(String tenantId, TenantDependencies deps, ActorContext<Command> context) {
    super(PersistenceId.of(ENTITY_KEY.name(), tenantId));
    this.tenantId = tenantId;
    this.deps = deps;
    this.context = context;
  }

  @Override
  public State emptyState() {
    return new Unregistered();
  }

  // ---------------------------------------------------------------- commands

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    CommandHandlerWithReplyBuilder<Command, Event, State> b = newCommandHandlerWithReplyBuilder();
    // While the customer's keystore is being called, user commands wait (in order) for its answer.
    b.forAnyState().onCommand(c -> l1CallInFlight && !(c instanceof Internal), c -> Effect().stash());

    b.forStateType(Unregistered.class)
        .onCommand(Onboard.class, this::onOnboard)
        .onCommand(OnboardL1Done.class, this::onOnboardL1Done)
        .onCommand(CreateService.class, c -> Effect().reply(c.replyTo(), notFound()))
        .onCommand(GetSummary.class, c -> Effect().reply(c.replyTo(), notFound()))
        .onCommand(WrapKeys.class, c -> Effect().reply(c.replyTo(), notFound()))
        .onCommand(UnwrapKeys.class, c -> Effect().reply(c.replyTo(), notFound()));

    b.forStateType(Registered.class)
        .onCommand(Onboard.class, (s, c) -> Effect().reply(c.replyTo(),
            reject(ErrorReason.TENANT_ALREADY_EXISTS, "tenant " + tenantId + " already exists (L1 " + s.l1Reference() + ")")))
        .onCommand(CreateService.class, this::onCreateService)
        .onCommand(GetSummary.class, (s, c) -> Effect().reply(c.replyTo(), StatusReply.success(summary(s))))
        .onCommand(WrapKeys.class, this::onWrap)
        .onCommand(UnwrapKeys.class, this::onUnwrap)
        .onCommand(UnsealDone.class, this::onUnsealDone);

    b.forAnyState()
        .onCommand(ClearUnsealFailure.class, c -> {
          unsealFailure = Optional.empty();
          return Effect().noReply();
        })
        .onCommand(OnboardL1Done.class, c -> { // tenant registered meanwhile: cannot happen while in flight
          c.l2().wipe();
          return Effect().reply(c.request().replyTo(), reject(ErrorReason.TENANT_ALREADY_EXISTS, "tenant exists"));
        });
    return b.build();
  }

  private ReplyEffect<Event, State> onOnboard(Unregistered s, Onboard c) {
    L1Reference ref;
    try {
      ref = L1Reference.parse(c.l1Reference());
    } catch (IllegalArgumentException e) {
      return Effect().reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT, e.getMessage()));
    }
    String cid = correlation(c.correlationId());
    KeyMaterial l2 = KeyMaterial.random(KEY_BYTES, deps.random());
    Map<String, String> l1Context = l1Context(1, cid);
    l1CallInFlight = true;
    log.info("tenant {}: onboarding, wrapping a new L2 with L1 {} (cid={})", tenantId, ref, cid);
    context.pipeToSelf(deps.keystore().wrap(ref, l2, l1Context, cid),
        (blob, failure) -> new OnboardL1Done(c, l2, l1Context, Optional.ofNullable(blob), Optional.ofNullable(failure)));
    return Effect().noReply(); // answered by OnboardL1Done
  }

  private ReplyEffect<Event, State> onOnboardL1Done(Unregistered s, OnboardL1Done done) {
    l1CallInFlight = false;
    Onboard c = done.request();
    String cid = done.l1Context().get("openkcm:correlation-id");
    if (done.failure().isPresent()) {
      done.l2().wipe();
      OpenKcmException e = TenantRejections.fromKeystore(done.failure().get(), tenantId, c.l1Reference(), true);
      audit.info("tenant.onboard tenant={} l1={} cid={} outcome={}", tenantId, c.l1Reference(), cid, e.reason());
      return Effect().reply(c.replyTo(), TenantRejections.<TenantSummary>reject(e)).thenUnstashAll();
    }
    TenantOnboarded event = new TenantOnboarded(tenantId, L1Reference.parse(c.l1Reference()).asString(), 1,
        done.wrappedL2().orElseThrow(), done.l1Context(), deps.clock().instant(), cid);
    return Effect().persist(event)
        .thenRun(st -> {
          unsealed = Optional.of(new UnsealedKeys(done.l2(), 1));
          audit.info("tenant.onboard tenant={} l1={} l2v=1 cid={} outcome=ok", tenantId, event.l1Reference(), cid);
        })
        .thenReply(c.replyTo(), st -> StatusReply.success(summary((Registered) st)))
        .thenUnstashAll();
  }

  private ReplyEffect<Event, State> onCreateService(Registered s, CreateService c) {
    Optional<String> problem = Identifiers.problem("service", c.serviceId());
    if (problem.isPresent()) {
      return Effect().reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT, problem.get()));
    }
    if (s.services().containsKey(c.serviceId())) {
      return Effect().reply(c.replyTo(), reject(ErrorReason.SERVICE_ALREADY_EXISTS,
          "service " + c.serviceId() + " of tenant " + tenantId + " already exists"));
    }
    if (unsealed.isEmpty()) {
      return unsealFirst(s, c.correlationId(), c.replyTo());
    }
    UnsealedKeys keys = unsealed.get();
    String cid = correlation(c.correlationId());
    KeyMaterial l3 = KeyMaterial.random(KEY_BYTES, deps.random());
    byte[] blob = KeyWrap.wrap(keys.l2(), l3, l3Aad(tenantId, c.serviceId(), 1, keys.l2Version()), deps.random());
    ServiceCreated event = new ServiceCreated(c.serviceId(), 1, keys.l2Version(), blob, deps.clock().instant(), cid);
    return Effect().persist(event)
        .thenRun(st -> {
          unsealed.ifPresent(k -> k.install(new EnvelopeCipher(new EnvelopeHeader(tenantId, c.serviceId(), 1), l3)));
          l3.wipe();
          audit.info("service.create tenant={} service={} l3v=1 cid={} outcome=ok", tenantId, c.serviceId(), cid);
        })
        .thenReply(c.replyTo(), st -> StatusReply.success(summary((Registered) st)));
  }

  private ReplyEffect<Event, State> onWrap(Registered s, WrapKeys c) {
    ServiceKeys service = s.services().get(c.serviceId());
    if (service == null) {
      return Effect().reply(c.replyTo(), serviceNotFound(c.serviceId()));
    }
    Optional<String> invalid = batchProblem(c.items().size());
    if (invalid.isPresent()) {
      return Effect().reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT, invalid.get()));
    }
    if (unsealed.isEmpty()) {
      return unsealFirst(s, c.correlationId(), c.replyTo());
    }
    EnvelopeCipher cipher = unsealed.get().cipher(c.serviceId(), service.currentVersion()).orElseThrow();
    List<byte[]> envelopes = new ArrayList<>(c.items().size());
    for (int i = 0; i < c.items().size(); i++) {
      WrapItem item = c.items().get(i);
      int len = item.plaintext().length;
      if (len < 1 || len > EnvelopeCodec.MAX_KEY_LENGTH) {
        return Effect().reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT,
            "item " + i + ": a data key is 1.." + EnvelopeCodec.MAX_KEY_LENGTH + " bytes, got " + len));
      }
      KeyMaterial dek = KeyMaterial.copyOf(item.plaintext());
      try {
        envelopes.add(cipher.wrap(dek, EncryptionContext.of(item.context()), deps.random()));
      } catch (EnvelopeException e) {
        return Effect().reply(c.replyTo(), reject(ErrorReason.of(e.reason()), "item " + i + ": " + e.getMessage()));
      } finally {
        dek.wipe();
      }
    }
    return Effect().reply(c.replyTo(), StatusReply.success(new Wrapped(envelopes, service.currentVersion())));
  }

  private ReplyEffect<Event, State> onUnwrap(Registered s, UnwrapKeys c) {
    Optional<String> invalid = batchProblem(c.items().size());
    if (invalid.isPresent()) {
      return Effect().reply(c.replyTo(), reject(ErrorReason.INVALID_ARGUMENT, invalid.get()));
    }
    if (unsealed.isEmpty()) {
      return unsealFirst(s, c.correlationId(), c.replyTo());
    }
    List<UnwrapOutcome> outcomes = new ArrayList<>(c.items().size());
    for (UnwrapItem item : c.items()) {
      outcomes.add(unwrapOne(s, item));
    }
    return Effect().reply(c.replyTo(), StatusReply.success(new Unwrapped(outcomes)));
  }

  private UnwrapOutcome unwrapOne(Registered s, UnwrapItem item) {
    try {
      Envelope env = EnvelopeCodec.decode(item.envelope());
      if (!env.tenantId().equals(tenantId)) {
        return UnwrapOutcome.failed(ErrorReason.ENVELOPE_TENANT_MISMATCH,
            "envelope belongs to another tenant, not to " + tenantId);
      }
      if (!s.services().containsKey(env.serviceId())) {
        return UnwrapOutcome.failed(ErrorReason.SERVICE_NOT_FOUND,
            "envelope names service " + env.serviceId() + ", which tenant " + tenantId + " does not have");
      }
      Optional<EnvelopeCipher> cipher = unsealed.orElseThrow().cipher(env.serviceId(), env.l3Version());
      if (cipher.isEmpty()) {
        return UnwrapOutcome.failed(ErrorReason.L3_VERSION_UNKNOWN,
            "envelope names L3 version " + env.l3Version() + " of service " + env.serviceId() + ", which does not exist");
      }
      KeyMaterial dek = cipher.get().unwrap(env, EncryptionContext.of(item.context()));
      byte[] plaintext = dek.revealBytes();
      dek.wipe();
      return UnwrapOutcome.ok(plaintext);
    } catch (EnvelopeException e) {
      return UnwrapOutcome.failed(ErrorReason.of(e.reason()), e.getMessage());
    }
  }

  // ---------------------------------------------------------------- unsealing

  private <T> ReplyEffect<Event, State> unsealFirst(Registered s, String correlationId, ActorRef<StatusReply<T>> replyTo) {
    if (unsealFailure.isPresent()) {
      return Effect().reply(replyTo, reject(unsealFailure.get()));
    }
    String cid = correlation(correlationId);
    L1Reference ref = L1Reference.parse(s.l1Reference());
    l1CallInFlight = true;
    log.info("tenant {}: unsealing L2 v{} with L1 {} (cid={})", tenantId, s.l2Version(), ref, cid);
    context.pipeToSelf(deps.keystore().unwrap(ref, s.wrappedL2(), s.l1Context(), cid),
        (l2, failure) -> new UnsealDone(Optional.ofNullable(l2), Optional.ofNullable(failure), cid));
    return Effect().stash();
  }

  private ReplyEffect<Event, State> onUnsealDone(Registered s, UnsealDone done) {
    l1CallInFlight = false;
    if (done.failure().isPresent()) {
      OpenKcmException e = TenantRejections.fromKeystore(done.failure().get(), tenantId, s.l1Reference(), false);
      return unsealFailed(s, e, done.correlationId());
    }
    KeyMaterial l2 = done.l2().orElseThrow();
    UnsealedKeys keys = new UnsealedKeys(l2, s.l2Version());
    for (ServiceKeys service : s.services().values()) {
      for (WrappedL3 w : service.versions()) {
        try {
          KeyMaterial l3 = KeyWrap.unwrap(l2, w.blob(), l3Aad(tenantId, service.serviceId(), w.version(), w.l2Version()));
          keys.install(new EnvelopeCipher(new EnvelopeHeader(tenantId, service.serviceId(), w.version()), l3));
          l3.wipe();
        } catch (GeneralSecurityException ex) {
          keys.wipe();
          return unsealFailed(s, new OpenKcmException(ErrorReason.INTERNAL, "tenant " + tenantId + ": L3 v"
              + w.version() + " of service " + service.serviceId() + " does not open with L2; the journal may be damaged"),
              done.correlationId());
        }
      }
    }
    unsealed = Optional.of(keys);
    audit.info("tenant.unseal tenant={} l1={} l2v={} services={} cid={} outcome=ok", tenantId, s.l1Reference(),
        s.l2Version(), s.services().size(), done.correlationId());
    return Effect().noReply().thenUnstashAll();
  }

  private ReplyEffect<Event, State> unsealFailed(Registered s, OpenKcmException e, String cid) {
    log.warn("tenant {}: unseal failed: {}", tenantId, e.oneLine());
    audit.info("tenant.unseal tenant={} l1={} cid={} outcome={}", tenantId, s.l1Reference(), cid, e.reason());
    // The commands waiting for this unseal get its error; the next new one tries again.
    unsealFailure = Optional.of(e);
    context.getSelf().tell(new ClearUnsealFailure());
    return Effect().noReply().thenUnstashAll();
  }

  // ---------------------------------------------------------------- events

  @Override
  public EventHandler<State, Event> eventHandler() {
    var b = newEventHandlerBuilder();
    b.forStateType(Unregistered.class)
        .onEvent(TenantOnboarded.class, (s, e) -> new Registered(e.tenantId(), e.l1Reference(), e.l2Version(),
            e.wrappedL2(), Map.copyOf(e.l1Context()), e.at(), Map.of()));
    b.forStateType(Registered.class)
        .onEvent(ServiceCreated.class, (s, e) -> s.withService(new ServiceKeys(e.serviceId(), e.l3Version(),
            List.of(new WrappedL3(e.l3Version(), e.l2Version(), e.wrappedL3())))));
    return b.build();
  }

  @Override
  public SignalHandler<State> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(PostStop.instance(), s -> wipeKeys("stopped"))
        .build();
  }

  private void wipeKeys(String why) {
    unsealed.ifPresent(k -> {
      k.wipe();
      log.debug("tenant {}: keys wiped ({})", tenantId, why);
    });
    unsealed = Optional.empty();
  }

  // ---------------------------------------------------------------- helpers

  private TenantSummary summary(Registered s) {
    List<ServiceSummary> services = new ArrayList<>();
    s.services().values().forEach(v -> services.add(new ServiceSummary(v.serviceId(), v.currentVersion())));
    return new TenantSummary(tenantId, s.l1Reference(), s.l2Version(), "active", services, unsealed.isPresent());
  }

  private Map<String, String> l1Context(long l2Version, String cid) {
    Map<String, String> m = new HashMap<>();
    m.put("openkcm:tenant", tenantId);
    m.put("openkcm:l2-version", Long.toString(l2Version));
    m.put("openkcm:correlation-id", cid);
    return Map.copyOf(m);
  }

  /** AAD binding a wrapped L3 to its tenant, service, version and wrapping L2 version. */
  static byte[] l3Aad(String tenantId, String serviceId, long l3Version, long l2Version) {
    return ("openkcm-l3-v1\n" + tenantId + "\n" + serviceId + "\n" + l3Version + "\n" + l2Version)
        .getBytes(StandardCharsets.UTF_8);
  }

  private Optional<String> batchProblem(int size) {
    if (size == 0) {
      return Optional.of("the batch is empty");
    }
    if (size > deps.settings().maxBatchSize()) {
      return Optional.of("the batch has " + size + " items; at most " + deps.settings().maxBatchSize()
          + " (openkcm.core.tenant.max-batch-size)");
    }
    return Optional.empty();
  }

  private <T> StatusReply<T> notFound() {
    return reject(ErrorReason.TENANT_NOT_FOUND, "tenant " + tenantId + " does not exist; onboard it first");
  }

  private <T> StatusReply<T> serviceNotFound(String serviceId) {
    return reject(ErrorReason.SERVICE_NOT_FOUND, "tenant " + tenantId + " has no service " + serviceId);
  }

  private static String correlation(String cid) {
    return cid == null || cid.isBlank() ? UUID.randomUUID().toString() : cid;
  }
}
