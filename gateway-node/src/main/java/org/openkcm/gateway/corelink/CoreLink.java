package org.openkcm.gateway.corelink;

import com.google.protobuf.ByteString;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.openkcm.node.grpc.NettyGrpcClient;
import org.openkcm.protocol.core.v1.CoreKeyServiceClient;
import org.openkcm.protocol.core.v1.RewrapKeysRequest;
import org.openkcm.protocol.core.v1.RewrapKeysResponse;
import org.openkcm.protocol.core.v1.RewrapResult;
import org.openkcm.protocol.core.v1.UnwrapItem;
import org.openkcm.protocol.core.v1.UnwrapKeysRequest;
import org.openkcm.protocol.core.v1.UnwrapKeysResponse;
import org.openkcm.protocol.core.v1.UnwrapResult;
import org.openkcm.protocol.core.v1.WrapItem;
import org.openkcm.protocol.core.v1.WrapKeysRequest;
import org.openkcm.protocol.core.v1.WrapKeysResponse;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's link to the Core: batched wrap/unwrap over gRPC to several Core nodes. Calls start
 * at the next node in turn; when a node cannot be reached the same call (wrap and unwrap persist
 * nothing, so both are safe to repeat) goes to the next one, and only when none answers does it
 * fail with CORE_UNAVAILABLE. Every call is already a batch, so pooling and request coalescing can
 * sit in front of it unchanged.
 */
public final class CoreLink implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(CoreLink.class);

  /** One Core node's gRPC endpoint. */
  public record Endpoint(String host, int port) {
    public static Endpoint parse(String hostPort) {
      int colon = hostPort.lastIndexOf(':');
      if (colon <= 0) {
        throw new IllegalArgumentException(
            "Core endpoint must be HOST:PORT, was '" + hostPort + "'");
      }
      return new Endpoint(
          hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }

    @Override
    public String toString() {
      return host + ":" + port;
    }
  }

  private final List<Endpoint> endpoints;

  /** Where unary key calls go: the nodes' key listeners, or {@link #endpoints}. */
  private final List<Endpoint> keyEndpoints;

  private final List<KeyCalls> clients;
  private final AtomicInteger next = new AtomicInteger();

  /**
   * @param keyEndpoints where unary WrapKeys/UnwrapKeys/RewrapKeys go (the Core nodes' key
   *     listeners), one per endpoint in the same order
   * @param keyCalls the client of one key endpoint ({@link KeyCalls#netty} or {@link
   *     KeyCalls#pekko})
   * @param streamChannel the channel of one endpoint's WrapStream/UnwrapStream (with keepalive)
   * @param secure applies this gateway's mTLS (or plaintext) to the stream clients of each Core
   *     node
   * @param streaming carry WrapKeys/UnwrapKeys over one long-lived bidirectional stream per node
   *     ({@code WrapStream}/{@code UnwrapStream}) instead of one unary call each
   */
  public CoreLink(
      ActorSystem<?> system,
      List<Endpoint> endpoints,
      List<Endpoint> keyEndpoints,
      Function<Endpoint, KeyCalls> keyCalls,
      Function<Endpoint, NettyGrpcClient> streamChannel,
      Duration requestTimeout,
      UnaryOperator<GrpcClientSettings> secure,
      boolean streaming) {
    if (endpoints.isEmpty()) {
      throw new IllegalArgumentException(
          "no Core endpoint configured (openkcm.gateway.core.endpoints)");
    }
    if (keyEndpoints.size() != endpoints.size()) {
      throw new IllegalArgumentException("one key endpoint per Core endpoint");
    }
    this.endpoints = List.copyOf(endpoints);
    this.keyEndpoints = List.copyOf(keyEndpoints);
    this.clients = keyEndpoints.stream().map(keyCalls).toList();
    // Clients for the tenant-event watch (a server stream): no deadline, since a watch lives as
    // long as the gateway, and HTTP/2 keepalive pings, so a node that vanished without closing its
    // connections (killed, partitioned) is noticed within about 12 s (10 s is the shortest ping
    // interval grpc-java allows).
    scala.Function1<NettyChannelBuilder, NettyChannelBuilder> keepalive =
        b ->
            b.keepAliveTime(10, TimeUnit.SECONDS)
                .keepAliveTimeout(2, TimeUnit.SECONDS)
                .keepAliveWithoutCalls(true);
    this.streamClients =
        endpoints.stream()
            .map(
                e ->
                    CoreKeyServiceClient.create(
                        secure.apply(
                            GrpcClientSettings.connectToServiceAt(e.host(), e.port(), system)
                                .withChannelBuilderOverrides(keepalive)),
                        system))
            .toList();
    // to the key listeners (grpc-java's Netty server) when the nodes run them, else the main one
    this.streams = streaming ? new CoreStreams(keyEndpoints, streamChannel, requestTimeout) : null;
  }

  /** The streaming link, or null: one unary call per WrapKeys/UnwrapKeys. */
  private final CoreStreams streams;

  private final List<CoreKeyServiceClient> streamClients;

  /** One item to wrap: a DEK and its encryption context. */
  public record ToWrap(byte[] plaintext, Map<String, String> context) {
    @Override
    public String toString() {
      return "ToWrap[redacted]";
    }
  }

  /**
   * What the Core's answers say about a tenant beyond the call itself: {@code blocked} for an
   * answer that means the tenant may not be served (killed, revoked, sealed, L1 unreachable, gone),
   * {@code answered} with the tenant's event sequence for every success. Called before the caller
   * sees the answer.
   */
  public interface TenantSignals {
    TenantSignals NONE =
        new TenantSignals() {
          @Override
          public void blocked(String tenantId, OpenKcmException why) {}

          @Override
          public void answered(String tenantId, long sequence) {}
        };

    void blocked(String tenantId, OpenKcmException why);

    /** The Core answered TENANT_OFFBOARDED: whatever the gateway keeps of the tenant goes. */
    default void offboarded(String tenantId) {}

    void answered(String tenantId, long sequence);
  }

  /** The answers that mean "this tenant may not be served now". */
  static final java.util.Set<ErrorReason> BLOCKING =
      java.util.EnumSet.of(
          ErrorReason.TENANT_KILLED,
          ErrorReason.L1_REVOKED,
          ErrorReason.L1_UNAVAILABLE,
          ErrorReason.CORE_SEALED,
          ErrorReason.TENANT_NOT_FOUND,
          ErrorReason.TENANT_OFFBOARDED,
          ErrorReason.HOME_REGION_SILENT);

  private volatile TenantSignals signals = TenantSignals.NONE;

  /** Where the Core's answers about tenants go (the gateway's tenant states and flush). */
  public void signals(TenantSignals s) {
    this.signals = s;
  }

  private <T> CompletionStage<T> observed(
      String tenantId, CompletionStage<T> call, java.util.function.ToLongFunction<T> sequence) {
    return call.handle(
        (ok, failure) -> {
          if (failure != null) {
            OpenKcmException e = GrpcErrors.fromGrpc(failure);
            if (BLOCKING.contains(e.reason())) {
              signals.blocked(tenantId, e);
            }
            if (e.reason() == ErrorReason.TENANT_OFFBOARDED) {
              signals.offboarded(tenantId);
            }
            throw forApplications(tenantId, e);
          }
          signals.answered(tenantId, sequence.applyAsLong(ok));
          return ok;
        });
  }

  /**
   * What an application is told of a Core refusal: the stable reason and what to do, never the
   * Core's details (the customer's L1 reference, who pulled a kill-switch and why), which are for
   * operators.
   */
  static OpenKcmException forApplications(String tenantId, OpenKcmException e) {
    String message =
        switch (e.reason()) {
          case TENANT_KILLED ->
              "tenant "
                  + tenantId
                  + " is killed (kill-switch): its data keys cannot be used until "
                  + "an operator revives it";
          case L1_REVOKED ->
              "the root key (L1) of tenant "
                  + tenantId
                  + " refuses: its data keys cannot be opened";
          case HOME_REGION_SILENT ->
              "tenant "
                  + tenantId
                  + " is not served in this region while its home region is unreachable; retry"
                  + " later or use the home region";
          case TENANT_OFFBOARDED ->
              "tenant " + tenantId + " was offboarded: its keys are destroyed";
          case L1_UNAVAILABLE ->
              "the root key (L1) of tenant " + tenantId + " cannot be reached now; retry later";
          case L1_REJECTED ->
              "the root key (L1) of tenant "
                  + tenantId
                  + " was refused; ask the tenant's operators";
          case CORE_SEALED -> "the key service is sealed; retry later";
          default -> null;
        };
    return message == null ? e : new OpenKcmException(e.reason(), message);
  }

  public CompletionStage<WrapKeysResponse> wrap(
      String tenantId, String serviceId, List<ToWrap> items, String cid) {
    WrapKeysRequest.Builder req =
        WrapKeysRequest.newBuilder()
            .setTenantId(tenantId)
            .setServiceId(serviceId)
            .setCorrelationId(cid);
    // one context for all (bulk calls): sent once, not with every key
    boolean shared = sharedContext(items, ToWrap::context);
    if (shared) {
      req.putAllSharedContext(items.get(0).context());
    }
    // added at once: the repeated field is sized once instead of growing item by item
    List<WrapItem> wrapItems = new ArrayList<>(items.size());
    for (ToWrap item : items) {
      WrapItem.Builder b =
          WrapItem.newBuilder().setPlaintext(ByteString.copyFrom(item.plaintext()));
      if (!shared) {
        b.putAllContext(item.context());
      }
      wrapItems.add(b.build());
    }
    req.addAllItems(wrapItems);
    return observed(
        tenantId,
        withFailover(
            i -> streams == null ? clients.get(i).wrapKeys(req.build()) : streams.wrap(i, req)),
        WrapKeysResponse::getTenantSequence);
  }

  /** One wrapped key of a batch: its envelope and the L3 version that wrapped it. */
  public record WrappedKey(ByteString envelope, int l3Version) {}

  /** {@link #wrap}, answered one {@link WrappedKey} per item (what a coalesced caller needs). */
  public CompletionStage<List<WrappedKey>> wrapEach(
      String tenantId, String serviceId, List<ToWrap> items, String cid) {
    return wrap(tenantId, serviceId, items, cid)
        .thenApply(
            r -> {
              List<WrappedKey> out = new ArrayList<>(r.getEnvelopesCount());
              for (ByteString e : r.getEnvelopesList()) {
                out.add(new WrappedKey(e, r.getL3Version()));
              }
              return out;
            });
  }

  /**
   * Whether the items of a batch (two or more) all carry one non-empty context: then it travels
   * once ({@code shared_context}), not with every key.
   */
  private static <T> boolean sharedContext(
      List<T> items, Function<T, Map<String, String>> context) {
    if (items.size() < 2 || context.apply(items.get(0)).isEmpty()) {
      return false;
    }
    Map<String, String> first = context.apply(items.get(0));
    for (int i = 1; i < items.size(); i++) {
      Map<String, String> c = context.apply(items.get(i));
      if (c != first && !c.equals(first)) {
        return false;
      }
    }
    return true;
  }

  public CompletionStage<List<UnwrapResult>> unwrap(
      String tenantId, List<UnwrapItem> items, String cid) {
    UnwrapKeysRequest.Builder b =
        UnwrapKeysRequest.newBuilder().setTenantId(tenantId).setCorrelationId(cid);
    if (sharedContext(items, UnwrapItem::getContextMap)) {
      // one context for all (bulk calls): sent once, not with every envelope
      b.putAllSharedContext(items.get(0).getContextMap());
      for (UnwrapItem item : items) {
        b.addItems(UnwrapItem.newBuilder().setEnvelope(item.getEnvelope()));
      }
    } else {
      b.addAllItems(items);
    }
    return observed(
            tenantId,
            withFailover(
                i -> streams == null ? clients.get(i).unwrapKeys(b.build()) : streams.unwrap(i, b)),
            UnwrapKeysResponse::getTenantSequence)
        .thenApply(UnwrapKeysResponse::getResultsList);
  }

  /** Re-wraps envelopes under their service's active L3 version (always unary). */
  public CompletionStage<List<RewrapResult>> rewrap(
      String tenantId, List<UnwrapItem> items, String cid) {
    RewrapKeysRequest req =
        RewrapKeysRequest.newBuilder()
            .setTenantId(tenantId)
            .addAllItems(items)
            .setCorrelationId(cid)
            .build();
    return observed(
            tenantId,
            withFailover(i -> clients.get(i).rewrapKeys(req)),
            RewrapKeysResponse::getTenantSequence)
        .thenApply(RewrapKeysResponse::getResultsList);
  }

  /**
   * {@code call} on the next node (round robin), then on the others while a node is unreachable.
   */
  private <T> CompletionStage<T> withFailover(Function<Integer, CompletionStage<T>> call) {
    int start = Math.floorMod(next.getAndIncrement(), clients.size());
    return attempt(call, start, 0);
  }

  private <T> CompletionStage<T> attempt(
      Function<Integer, CompletionStage<T>> call, int start, int tried) {
    int i = (start + tried) % clients.size();
    return call.apply(i)
        .handle(
            (ok, failure) -> {
              if (failure == null) {
                return CompletableFuture.completedFuture(ok);
              }
              OpenKcmException e = GrpcErrors.fromGrpc(failure);
              // another Core may take it: this one is unreachable, or its audit queue is full
              boolean elsewhere =
                  e.reason() == ErrorReason.CORE_UNAVAILABLE
                      || e.reason() == ErrorReason.AUDIT_BACKLOG_FULL;
              if (!elsewhere) {
                return CompletableFuture.<T>failedFuture(e);
              }
              if (tried + 1 < clients.size()) {
                log.warn(
                    "Core {} unreachable or busy ({}); trying {}",
                    keyEndpoints.get(i),
                    e.getMessage(),
                    keyEndpoints.get((start + tried + 1) % clients.size()));
                return attempt(call, start, tried + 1);
              }
              return CompletableFuture.<T>failedFuture(
                  new OpenKcmException(
                      e.reason(),
                      "no Core node could take it (tried "
                          + keyEndpoints
                          + "): "
                          + e.getMessage()));
            })
        .thenCompose(Function.identity());
  }

  /**
   * The per-node clients for long-lived server streams (the tenant-event watch): without the
   * per-call deadline, which would end a watch after {@code request-timeout} and make the gateway
   * drop everything it holds each time.
   */
  public List<CoreKeyServiceClient> streamingClients() {
    return streamClients;
  }

  @Override
  public void close() {
    if (streams != null) {
      streams.close();
    }
    streamClients.forEach(CoreKeyServiceClient::close);
    clients.forEach(KeyCalls::close);
  }
}
