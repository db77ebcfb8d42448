package org.openkcm.gateway.corelink;

import com.google.protobuf.ByteString;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.grpc.GrpcClientSettings;
import org.openkcm.protocol.core.v1.CoreKeyServiceClient;
import org.openkcm.protocol.core.v1.UnwrapItem;
import org.openkcm.protocol.core.v1.UnwrapKeysRequest;
import org.openkcm.protocol.core.v1.UnwrapResult;
import org.openkcm.protocol.core.v1.WrapItem;
import org.openkcm.protocol.core.v1.WrapKeysRequest;
import org.openkcm.protocol.core.v1.WrapKeysResponse;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.GrpcErrors;
import org.openkcm.protocol.error.OpenKcmException;

/**
 * The gateway's link to the Core: batched wrap/unwrap over gRPC. Every call is already a batch, so pooling
 * and request coalescing can sit in front of it without changing the wire. Failures arrive as
 * {@link OpenKcmException}s (CORE_UNAVAILABLE when the Core cannot be reached).
 */
public final class CoreLink implements AutoCloseable {

  private final CoreKeyServiceClient client;
  private final String endpoint;

  public CoreLink(ActorSystem<?> system, String host, int port, Duration requestTimeout) {
    this.endpoint = host + ":" + port;
    this.client = CoreKeyServiceClient.create(
        GrpcClientSettings.connectToServiceAt(host, port, system).withTls(false).withDeadline(requestTimeout), system);
  }

  /** One item to wrap: a DEK and its encryption context. */
  public record ToWrap(byte[] plaintext, Map<String, String> context) {
    @Override
    public String toString() {
      return "ToWrap[redacted]";
    }
  }

  public CompletionStage<WrapKeysResponse> wrap(String tenantId, String serviceId, List<ToWrap> items, String cid) {
    WrapKeysRequest.Builder req = WrapKeysRequest.newBuilder()
        .setTenantId(tenantId).setServiceId(serviceId).setCorrelationId(cid);
    for (ToWrap item : items) {
      req.addItems(WrapItem.newBuilder().setPlaintext(ByteString.copyFrom(item.plaintext())).putAllContext(item.context()));
    }
    return client.wrapKeys(req.build()).exceptionally(this::fail);
  }

  public CompletionStage<List<UnwrapResult>> unwrap(String tenantId, List<UnwrapItem> items, String cid) {
    UnwrapKeysRequest req = UnwrapKeysRequest.newBuilder()
        .setTenantId(tenantId).addAllItems(items).setCorrelationId(cid).build();
    return client.unwrapKeys(req).thenApply(r -> r.getResultsList()).exceptionally(this::fail);
  }

  private <T> T fail(Throwable failure) {
    OpenKcmException e = GrpcErrors.fromGrpc(failure);
    if (e.reason() == ErrorReason.CORE_UNAVAILABLE) {
      throw new OpenKcmException(ErrorReason.CORE_UNAVAILABLE, "Core at " + endpoint + " is unreachable (" + e.getMessage() + ")");
    }
    throw e;
  }

  @Override
  public void close() {
    client.close();
  }
}
