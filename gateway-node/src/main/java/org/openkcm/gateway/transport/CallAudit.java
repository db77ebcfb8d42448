package org.openkcm.gateway.transport;

import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Message;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.node.authz.Guard.Scope;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.error.GrpcErrors;

/**
 * One audit record per data-key call at the gateway — which application opened which tenant's keys,
 * when, how many, how it ended — in the tenant's chain ({@code gateway.call}: tenant, service,
 * caller, operation, key count, correlation id, outcome). Made off the answering thread ({@link
 * AuditLog#recordLater}): the answer never waits for its record. The key count and the correlation
 * id are read from the request's own fields ({@code items}, {@code count}, {@code correlation_id}),
 * found once per operation.
 */
final class CallAudit {

  /** Per request type: its items field, count field and correlation id field (each may be null). */
  private record Fields(FieldDescriptor items, FieldDescriptor count, FieldDescriptor cid) {}

  private static final Map<com.google.protobuf.Descriptors.Descriptor, Fields> FIELDS =
      new ConcurrentHashMap<>();

  private CallAudit() {}

  /**
   * Runs {@code call} for {@code request} of {@code caller}, which touches {@code touched}, and
   * records it once it ends (a synchronous throw too).
   */
  static <R> CompletionStage<R> recorded(
      String action,
      Message request,
      Set<Scope> touched,
      SpiffeId caller,
      Supplier<CompletionStage<R>> call) {
    CompletionStage<R> answer;
    try {
      answer = call.get();
    } catch (RuntimeException thrown) {
      answer = java.util.concurrent.CompletableFuture.failedFuture(thrown);
    }
    answer.whenComplete(
        (ok, failure) -> {
          Scope first = touched.stream().findFirst().orElse(null);
          Fields f = FIELDS.computeIfAbsent(request.getDescriptorForType(), CallAudit::fieldsOf);
          AuditLog.recordLater(
              "gateway.call",
              "tenant",
              first == null ? "" : first.resource().id(),
              "service",
              // every service a batch touched
              String.join(",", touched.stream().map(Scope::service).distinct().sorted().toList()),
              "caller",
              (Supplier<String>) () -> caller == null ? "none" : caller.uri(),
              "operation",
              action,
              "count",
              count(request, f),
              "cid",
              f.cid() == null ? "" : String.valueOf(request.getField(f.cid())),
              "outcome",
              failure == null ? "ok" : GrpcErrors.fromGrpc(failure).reason().name());
        });
    return answer;
  }

  private static Fields fieldsOf(com.google.protobuf.Descriptors.Descriptor d) {
    return new Fields(
        d.findFieldByName("items"),
        d.findFieldByName("count"),
        d.findFieldByName("correlation_id"));
  }

  private static long count(Message m, Fields f) {
    if (f.items() != null && f.items().isRepeated()) {
      return m.getRepeatedFieldCount(f.items());
    }
    if (f.count() != null && f.count().getJavaType() == FieldDescriptor.JavaType.INT) {
      return ((Number) m.getField(f.count())).longValue();
    }
    return 1;
  }
}
