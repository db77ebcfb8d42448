package org.openkcm.core.api;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.pubsub.Topic;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.javadsl.Source;
import org.apache.pekko.stream.typed.javadsl.ActorSource;
import org.openkcm.core.killswitch.KillSwitchEntity;
import org.openkcm.core.killswitch.KillSwitchWatcher;
import org.openkcm.core.tenant.KeyBatch;
import org.openkcm.core.tenant.ResidentTenants;
import org.openkcm.core.tenant.TenantEntity;
import org.openkcm.core.tenant.TenantEvents;
import org.openkcm.protocol.core.v1.CoreKeyService;
import org.openkcm.protocol.core.v1.ItemError;
import org.openkcm.protocol.core.v1.RewrapKeysRequest;
import org.openkcm.protocol.core.v1.RewrapKeysResponse;
import org.openkcm.protocol.core.v1.RewrapResult;
import org.openkcm.protocol.core.v1.TenantEvent;
import org.openkcm.protocol.core.v1.UnwrapItem;
import org.openkcm.protocol.core.v1.UnwrapKeysRequest;
import org.openkcm.protocol.core.v1.UnwrapKeysResponse;
import org.openkcm.protocol.core.v1.UnwrapResult;
import org.openkcm.protocol.core.v1.WatchTenantEventsRequest;
import org.openkcm.protocol.core.v1.WrapItem;
import org.openkcm.protocol.core.v1.WrapKeysRequest;
import org.openkcm.protocol.core.v1.WrapKeysResponse;
import org.openkcm.protocol.envelope.EnvelopeCodec;
import org.openkcm.protocol.envelope.Identifiers;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.Fields;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.ItemErrors;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * Gateway-facing batched wrap/unwrap: a thin mapping onto the tenant entity. An unwrap or wrap of a
 * tenant resident on this node is answered on the caller's thread ({@link ResidentTenants}).
 */
public final class CoreKeyServiceImpl implements CoreKeyService {

  private final ActorSystem<?> system;
  private final ClusterSharding sharding;
  private final ResidentTenants residents;
  private final Duration askTimeout;
  private final Duration resendAfter;
  private final ActorRef<Topic.Command<TenantEvents.StatusChanged>> tenantTopic;
  private final ActorRef<Topic.Command<KillSwitchEntity.Changed>> killSwitchTopic;
  private final KillSwitchWatcher killSwitch;
  private final int maxBatch;
  private final java.time.Duration killSwitchResend;

  /** Calls of one stream in progress at once (answers still leave in order). */
  static final int STREAM_PARALLELISM = 64;

  public CoreKeyServiceImpl(
      ActorSystem<?> system,
      Duration askTimeout,
      ActorRef<Topic.Command<TenantEvents.StatusChanged>> tenantTopic,
      ActorRef<Topic.Command<KillSwitchEntity.Changed>> killSwitchTopic,
      KillSwitchWatcher killSwitch) {
    this.system = system;
    this.sharding = ClusterSharding.get(system);
    this.residents = ResidentTenants.get(system);
    this.askTimeout = askTimeout;
    this.resendAfter = system.settings().config().getDuration("openkcm.core.tenant.resend-after");
    this.tenantTopic = tenantTopic;
    this.killSwitchTopic = killSwitchTopic;
    this.killSwitch = killSwitch;
    this.maxBatch = system.settings().config().getInt("openkcm.core.grpc.max-batch");
    this.killSwitchResend =
        system.settings().config().getDuration("openkcm.core.kill-switch.refresh-interval");
  }

  @Override
  public Source<TenantEvent, NotUsed> watchTenantEvents(WatchTenantEventsRequest in) {
    return watchTenantEvents(in, tenant -> true);
  }

  /**
   * The watch of a gateway that serves the tenants {@code serves} accepts: it gets only their
   * events.
   */
  Source<TenantEvent, NotUsed> watchTenantEvents(
      WatchTenantEventsRequest in, java.util.function.Predicate<String> serves) {
    try {
      Fields.text("gateway", in.getGateway(), 128);
    } catch (OpenKcmException e) {
      return Source.failed(GrpcErrors.toGrpc(e));
    }
    String gateway = in.getGateway().isBlank() ? "unnamed" : in.getGateway();
    return ActorSource.<TenantEvent>actorRef(
            e -> false, e -> Optional.empty(), 1024, OverflowStrategy.fail())
        .mapMaterializedValue(
            out -> {
              system.systemActorOf(
                  TenantWatchSession.create(
                      out,
                      gateway,
                      serves,
                      tenantTopic,
                      killSwitchTopic,
                      killSwitch,
                      killSwitchResend),
                  "tenant-watch-" + UUID.randomUUID(),
                  Props.empty());
              return NotUsed.getInstance();
            });
  }

  @Override
  public CompletionStage<WrapKeysResponse> wrapKeys(WrapKeysRequest in) {
    Optional<OpenKcmException> invalid = checkIds(in.getTenantId(), Optional.of(in.getServiceId()));
    if (invalid.isPresent()) {
      return failed(invalid.get());
    }
    List<KeyBatch.WrapItem> items = new ArrayList<>(in.getItemsCount());
    try {
      Fields.correlationId("correlation_id", in.getCorrelationId());
      Fields.count("items", in.getItemsCount(), maxBatch, "openkcm.core.grpc.max-batch");
      for (int i = 0; i < in.getItemsCount(); i++) {
        WrapItem item = in.getItems(i);
        int length = item.getPlaintext().size();
        if (length != 16 && length != 24 && length != 32) {
          throw new OpenKcmException(
              ErrorReason.INVALID_ARGUMENT,
              "items["
                  + i
                  + "].plaintext is "
                  + length
                  + " bytes; a data key is 16, 24 or 32 bytes");
        }
        items.add(
            new KeyBatch.WrapItem(
                item.getPlaintext().toByteArray(),
                context(i, item.getContextMap(), in.getSharedContextMap())));
      }
    } catch (OpenKcmException e) {
      return failed(e);
    }
    Optional<KeyBatch.Wrapped> resident =
        residents.wrap(in.getTenantId(), in.getServiceId(), items);
    var tenant = sharding.entityRefFor(TenantEntity.ENTITY_KEY, in.getTenantId());
    CompletionStage<KeyBatch.Wrapped> answer =
        resident.isPresent()
            ? CompletableFuture.completedFuture(resident.get())
            : ResendingAsk.ask(
                "WrapKeys of tenant " + in.getTenantId(),
                timeout ->
                    tenant.<KeyBatch.Wrapped>askWithStatus(
                        replyTo ->
                            new TenantEntity.WrapKeys(
                                in.getServiceId(), items, in.getCorrelationId(), replyTo),
                        timeout),
                resendAfter,
                askTimeout);
    return answer.handle(
        (wrapped, failure) -> {
          if (failure != null) {
            throw GrpcErrors.toGrpc(org.openkcm.core.reply.Rejections.parse(failure));
          }
          WrapKeysResponse.Builder out =
              WrapKeysResponse.newBuilder()
                  .setCallId(in.getCallId()) // a stream's call: answered with its id, no copy
                  .setL3Version((int) wrapped.l3Version())
                  .setTenantSequence(wrapped.sequence());
          // fresh arrays nobody writes again: wrapped, not copied
          // (added at once: the repeated field is sized once)
          List<ByteString> envelopes = new ArrayList<>(wrapped.envelopes().size());
          wrapped.envelopes().forEach(e -> envelopes.add(UnsafeByteOperations.unsafeWrap(e)));
          out.addAllEnvelopes(envelopes);
          return out.build();
        });
  }

  @Override
  public CompletionStage<UnwrapKeysResponse> unwrapKeys(UnwrapKeysRequest in) {
    Optional<OpenKcmException> invalid = checkIds(in.getTenantId(), Optional.empty());
    if (invalid.isPresent()) {
      return failed(invalid.get());
    }
    List<KeyBatch.UnwrapItem> items;
    try {
      items = envelopes(in.getCorrelationId(), in.getItemsList(), in.getSharedContextMap());
    } catch (OpenKcmException e) {
      return failed(e);
    }
    Optional<KeyBatch.Unwrapped> resident = residents.unwrap(in.getTenantId(), items);
    var tenant = sharding.entityRefFor(TenantEntity.ENTITY_KEY, in.getTenantId());
    CompletionStage<KeyBatch.Unwrapped> answer =
        resident.isPresent()
            ? CompletableFuture.completedFuture(resident.get())
            : ResendingAsk.ask(
                "UnwrapKeys of tenant " + in.getTenantId(),
                timeout ->
                    tenant.<KeyBatch.Unwrapped>askWithStatus(
                        replyTo ->
                            new TenantEntity.UnwrapKeys(items, in.getCorrelationId(), replyTo),
                        timeout),
                resendAfter,
                askTimeout);
    return answer.handle(
        (unwrapped, failure) -> {
          if (failure != null) {
            throw GrpcErrors.toGrpc(org.openkcm.core.reply.Rejections.parse(failure));
          }
          UnwrapKeysResponse.Builder out =
              UnwrapKeysResponse.newBuilder()
                  .setCallId(in.getCallId()) // a stream's call: answered with its id, no copy
                  .setTenantSequence(unwrapped.sequence());
          for (KeyBatch.UnwrapOutcome o : unwrapped.outcomes()) {
            out.addResults(
                o.isOk()
                    ? UnwrapResult.newBuilder()
                        .setPlaintext(ByteString.copyFrom(o.plaintext()))
                        .build()
                    : UnwrapResult.newBuilder()
                        .setError(
                            ItemError.newBuilder()
                                .setReason(o.errorReason())
                                .setMessage(o.errorMessage()))
                        .build());
          }
          return out.build();
        });
  }

  @Override
  public CompletionStage<RewrapKeysResponse> rewrapKeys(RewrapKeysRequest in) {
    Optional<OpenKcmException> invalid = checkIds(in.getTenantId(), Optional.empty());
    if (invalid.isPresent()) {
      return failed(invalid.get());
    }
    List<KeyBatch.UnwrapItem> items;
    try {
      items = envelopes(in.getCorrelationId(), in.getItemsList(), Map.of());
    } catch (OpenKcmException e) {
      return failed(e);
    }
    var tenant = sharding.entityRefFor(TenantEntity.ENTITY_KEY, in.getTenantId());
    return ResendingAsk.ask(
            "RewrapKeys of tenant " + in.getTenantId(),
            timeout ->
                tenant.<KeyBatch.Rewrapped>askWithStatus(
                    replyTo -> new TenantEntity.RewrapKeys(items, in.getCorrelationId(), replyTo),
                    timeout),
            resendAfter,
            askTimeout)
        .handle(
            (rewrapped, failure) -> {
              if (failure != null) {
                throw GrpcErrors.toGrpc(org.openkcm.core.reply.Rejections.parse(failure));
              }
              RewrapKeysResponse.Builder out =
                  RewrapKeysResponse.newBuilder().setTenantSequence(rewrapped.sequence());
              for (KeyBatch.RewrapOutcome o : rewrapped.outcomes()) {
                out.addResults(
                    o.isOk()
                        ? RewrapResult.newBuilder()
                            .setEnvelope(UnsafeByteOperations.unsafeWrap(o.envelope()))
                            .setL3Version((int) o.l3Version())
                            .build()
                        : RewrapResult.newBuilder()
                            .setError(
                                ItemError.newBuilder()
                                    .setReason(o.errorReason())
                                    .setMessage(o.errorMessage()))
                            .build());
              }
              return out.build();
            });
  }

  /**
   * Item {@code i}'s encryption context: its own, or the request's {@code shared} one (then the
   * item may carry none).
   */
  private static Map<String, String> context(
      int i, Map<String, String> own, Map<String, String> shared) {
    if (shared.isEmpty()) {
      return own;
    }
    if (!own.isEmpty()) {
      throw new OpenKcmException(
          ErrorReason.INVALID_ARGUMENT,
          "items["
              + i
              + "] carries an encryption context and the request a shared_context; send one or"
              + " the other");
    }
    return shared;
  }

  /**
   * The envelopes of an unwrap or rewrap request, checked (count, size, correlation id), with
   * {@code shared} as every item's context when it is not empty.
   */
  private List<KeyBatch.UnwrapItem> envelopes(
      String correlationId, List<UnwrapItem> in, Map<String, String> shared) {
    Fields.correlationId("correlation_id", correlationId);
    Fields.count("items", in.size(), maxBatch, "openkcm.core.grpc.max-batch");
    List<KeyBatch.UnwrapItem> items = new ArrayList<>(in.size());
    for (int i = 0; i < in.size(); i++) {
      UnwrapItem item = in.get(i);
      if (item.getEnvelope().size() > EnvelopeCodec.MAX_ENVELOPE_LENGTH) {
        throw new OpenKcmException(
            ErrorReason.INVALID_ARGUMENT,
            "items["
                + i
                + "].envelope is "
                + item.getEnvelope().size()
                + " bytes; an envelope is at most "
                + EnvelopeCodec.MAX_ENVELOPE_LENGTH);
      }
      items.add(
          new KeyBatch.UnwrapItem(
              item.getEnvelope().toByteArray(), context(i, item.getContextMap(), shared)));
    }
    return items;
  }

  /**
   * Many WrapKeys over one stream, answered as they finish with their call id; refusals as {@code
   * failure}.
   */
  @Override
  public Source<WrapKeysResponse, NotUsed> wrapStream(Source<WrapKeysRequest, NotUsed> in) {
    return in.mapAsyncUnordered(STREAM_PARALLELISM, r -> streamed(r, wrapKeys(r)));
  }

  /**
   * Many UnwrapKeys over one stream, answered as they finish with their call id; refusals as {@code
   * failure}.
   */
  @Override
  public Source<UnwrapKeysResponse, NotUsed> unwrapStream(Source<UnwrapKeysRequest, NotUsed> in) {
    return in.mapAsyncUnordered(STREAM_PARALLELISM, r -> streamed(r, unwrapKeys(r)));
  }

  /**
   * The stream answer of {@code request}: its answer (which carries its call id already) or
   * refusal, tagged with its call id.
   */
  static CompletionStage<WrapKeysResponse> streamed(
      WrapKeysRequest request, CompletionStage<WrapKeysResponse> call) {
    long id = request.getCallId();
    return call.handle(
        (ok, failure) ->
            failure != null
                ? WrapKeysResponse.newBuilder()
                    .setFailure(ItemErrors.of(failure))
                    .setCallId(id)
                    .build()
                : ok.getCallId() == id ? ok : ok.toBuilder().setCallId(id).build());
  }

  static CompletionStage<UnwrapKeysResponse> streamed(
      UnwrapKeysRequest request, CompletionStage<UnwrapKeysResponse> call) {
    long id = request.getCallId();
    return call.handle(
        (ok, failure) ->
            failure != null
                ? UnwrapKeysResponse.newBuilder()
                    .setFailure(ItemErrors.of(failure))
                    .setCallId(id)
                    .build()
                : ok.getCallId() == id ? ok : ok.toBuilder().setCallId(id).build());
  }

  static Optional<OpenKcmException> checkIds(String tenantId, Optional<String> serviceId) {
    Optional<String> problem =
        Identifiers.problem("tenant", tenantId)
            .or(() -> serviceId.flatMap(s -> Identifiers.problem("service", s)));
    return problem.map(p -> new OpenKcmException(ErrorReason.INVALID_ARGUMENT, p));
  }

  static <T> CompletionStage<T> failed(OpenKcmException e) {
    return CompletableFuture.failedFuture(GrpcErrors.toGrpc(e));
  }
}
