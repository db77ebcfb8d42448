package org.openkcm.core.rest;

import com.fasterxml.jackson.databind.node.TextNode;
import com.typesafe.config.Config;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.apache.pekko.grpc.javadsl.Metadata;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.openkcm.node.audit.AuditReader;
import org.openkcm.protocol.admin.v1.AdminServicePowerApi;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.GrpcErrors;

/**
 * {@code GET /v1/tenants/{tenant}/audit}: the tenant's persisted audit trail, the chain's verdict
 * and its records (newest first, at most {@code limit}, optionally only {@code event}, at or after
 * {@code since}). Only for whoever may read the tenant: the authorized admin service decides first.
 * The database is read on {@code blocking}, never on the thread that answered the admin call.
 */
final class TenantAuditRoute {

  private final AdminServicePowerApi admin;
  private final Config root;
  private final Config trail;
  private final Executor blocking;

  /** {@code root}: the node's configuration ({@code openkcm.audit.trail}, {@code openkcm.tls}). */
  TenantAuditRoute(AdminServicePowerApi admin, Config root, Executor blocking) {
    this.admin = admin;
    this.root = root;
    this.trail = root.getConfig("openkcm.audit.trail");
    this.blocking = blocking;
  }

  CompletionStage<HttpResponse> answer(String tenant, HttpRequest request, Metadata md) {
    return admin
        .getTenant(GetTenantRequest.newBuilder().setTenantId(tenant).build(), md)
        .thenApplyAsync(allowed -> read(tenant, request), blocking)
        .exceptionally(failure -> Problem.of(GrpcErrors.fromGrpc(failure)));
  }

  private HttpResponse read(String tenant, HttpRequest request) {
    if (!trail.getBoolean("enabled")) {
      return Problem.of(
          ErrorReason.INVALID_ARGUMENT,
          "the persisted audit trail is off on this node (openkcm.audit.trail.enabled)");
    }
    Optional<Instant> since;
    int limit;
    try {
      since = request.getUri().query().get("since").map(Instant::parse);
      limit = Integer.parseInt(request.getUri().query().get("limit").orElse("100"));
    } catch (RuntimeException e) {
      return Problem.of(
          ErrorReason.INVALID_ARGUMENT, "since is an ISO-8601 instant, limit a number 1..1000");
    }
    if (limit < 1 || limit > 1000) {
      return Problem.of(ErrorReason.INVALID_ARGUMENT, "limit is 1..1000");
    }
    Optional<String> event = request.getUri().query().get("event");
    try (AuditReader r = AuditReader.open(trail)) {
      StringBuilder b = new StringBuilder().append("{\"tenant\":").append(TextNode.valueOf(tenant));
      if (!r.exists(tenant)) {
        return AdminRest.json(b.append(",\"intact\":true,\"records\":[]}").toString());
      }
      // strictly: no checkpoint missing, each signed by a node of the trust bundle
      var verdict = r.verify(tenant, org.openkcm.node.audit.AuditPolicies.forNode(root));
      b.append(",\"intact\":").append(verdict.ok());
      verdict
          .firstProblem()
          .ifPresent(p -> b.append(",\"firstProblem\":").append(TextNode.valueOf(p)));
      b.append(",\"records\":[");
      String sep = "";
      for (AuditReader.Line line : r.newest(tenant, since, event, limit)) {
        b.append(sep).append(line.json());
        sep = ",";
      }
      return AdminRest.json(b.append("]}").toString());
    } catch (SQLException e) {
      return Problem.of(ErrorReason.CORE_UNAVAILABLE, "the audit database: " + e.getMessage());
    }
  }
}
