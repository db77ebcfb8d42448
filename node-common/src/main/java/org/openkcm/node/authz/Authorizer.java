package org.openkcm.node.authz;

import com.cedarpolicy.BasicAuthorizationEngine;
import com.cedarpolicy.model.AuthorizationRequest;
import com.cedarpolicy.model.AuthorizationResponse;
import com.cedarpolicy.model.AuthorizationSuccessResponse;
import com.cedarpolicy.model.Context;
import com.cedarpolicy.model.entity.Entity;
import com.cedarpolicy.model.exception.AuthException;
import com.cedarpolicy.model.policy.Policy;
import com.cedarpolicy.model.policy.PolicySet;
import com.cedarpolicy.value.EntityTypeName;
import com.cedarpolicy.value.EntityUID;
import com.cedarpolicy.value.PrimString;
import com.cedarpolicy.value.Value;
import com.typesafe.config.Config;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import org.openkcm.node.audit.AuditLog;
import org.openkcm.node.tls.SpiffeId;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.Fields;
import org.openkcm.protocol.error.OpenKcmException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides whether a caller (its verified SPIFFE id) may do an action on a resource, by Cedar
 * policies read from files (reloaded when they change). Decisions are cached per (caller, action,
 * resource, service) for a bounded time, so the per-DEK path costs a map lookup. Every evaluated
 * decision and every denial goes to the audit log with the policies that decided it.
 *
 * <p>Defence in depth is not this class's job alone: whatever a policy says, an envelope of tenant
 * A never opens under tenant B (its AAD binds the tenant) and a gateway never receives L2/L3.
 */
public final class Authorizer {

  private static final Logger log = LoggerFactory.getLogger(Authorizer.class);

  /** Actions admitted even while the audit queue is full: stopping a tenant never waits. */
  private static final java.util.Set<String> KILLS =
      java.util.Set.of("KillTenant", "EngageKillSwitch");

  private static final String CLASSPATH = "classpath:";
  private static final Map<String, String> KINDS =
      Map.of("core", "Core", "gateway", "Gateway", "app", "App", "admin", "Admin");

  /**
   * {@code openkcm.authz}.
   *
   * @param policyFiles file paths, or {@code classpath:<resource>} for policies shipped in the jar
   * @param assignments which tenants each gateway serves and which roles each admin holds
   */
  public record Settings(
      List<String> policyFiles,
      Duration cacheTtl,
      int cacheMaxEntries,
      Duration reloadCheck,
      Assignments assignments) {

    public Settings {
      policyFiles = List.copyOf(policyFiles);
    }

    public Settings(
        List<String> policyFiles, Duration cacheTtl, int cacheMaxEntries, Duration reloadCheck) {
      this(policyFiles, cacheTtl, cacheMaxEntries, reloadCheck, Assignments.NONE);
    }

    public static Settings from(Config authz) {
      return new Settings(
          authz.getStringList("policy-files"),
          authz.getDuration("cache-ttl"),
          authz.getInt("cache-max-entries"),
          authz.getDuration("reload-check"),
          Assignments.from(authz.getConfig("assignments")));
    }
  }

  /**
   * What is acted on: a Cedar entity type ({@code Tenant}, {@code KillSwitch}, {@code Seal}) and
   * its id.
   */
  public record Resource(String type, String id) {
    public static Resource tenant(String tenantId) {
      return new Resource("Tenant", tenantId);
    }
  }

  private record Key(String principal, String action, Resource resource, String service) {}

  private record Decision(boolean allowed, String why, long expiresNanos) {}

  private record Policies(PolicySet set, Map<String, String> names, String stamp) {}

  private final Settings settings;
  private final BasicAuthorizationEngine engine = new BasicAuthorizationEngine();
  private final ConcurrentHashMap<Key, Decision> cache = new ConcurrentHashMap<>();
  private volatile Policies policies;
  private volatile long nextCheckNanos;

  /**
   * The stamp of files refused last time, so a broken change is reported once, not on every check.
   */
  private String refusedStamp = "";

  private Authorizer(Settings settings, Policies policies) {
    this.settings = settings;
    this.policies = policies;
    this.nextCheckNanos = System.nanoTime() + settings.reloadCheck().toNanos();
  }

  /** Who is assigned what (the data behind the policies). */
  public Assignments assignments() {
    return settings.assignments();
  }

  /**
   * The authorization policies of {@code openkcm.authz} for a node whose mTLS is {@code tls};
   * without mTLS there are no verified identities to judge, so none (with a warning).
   */
  public static java.util.Optional<Authorizer> forNode(
      Config root, java.util.Optional<org.openkcm.node.tls.MutualTls> tls) {
    if (tls.isEmpty()) {
      log.warn(
          "no mTLS, so no caller identities: authorization policies are NOT applied (development/test only)");
      return java.util.Optional.empty();
    }
    return java.util.Optional.of(load(Settings.from(root.getConfig("openkcm.authz"))));
  }

  /** Reads the policy files; fails with the file and Cedar's message when one does not parse. */
  public static Authorizer load(Settings settings) {
    try {
      Policies p = read(settings);
      log.info(
          "authorization: {} Cedar policies from {} ({})",
          p.names().size(),
          settings.policyFiles(),
          new TreeSet<>(p.names().values()));
      return new Authorizer(settings, p);
    } catch (IOException e) {
      throw new IllegalStateException("authorization policies: " + e.getMessage(), e);
    }
  }

  /**
   * Returns normally when {@code caller} may do {@code action} on {@code resource} (for {@code
   * service}, "" if none); otherwise throws PERMISSION_DENIED naming the caller, the action and the
   * resource.
   */
  public void require(
      Optional<SpiffeId> caller, String action, Resource resource, String service, String cid) {
    // a malformed id is answered before any decision is made or audited: a flood of random ids
    // costs no policy evaluation, no cache entry and no record in a tenant's chain
    if (resource.type().equals("Tenant") && !resource.id().equals("*")) {
      Optional<String> bad =
          org.openkcm.protocol.envelope.Identifiers.problem("tenant", resource.id())
              .or(
                  () ->
                      service.isEmpty() || service.equals("*")
                          ? Optional.empty()
                          : org.openkcm.protocol.envelope.Identifiers.problem("service", service));
      if (bad.isPresent()) {
        throw new OpenKcmException(ErrorReason.INVALID_ARGUMENT, bad.get());
      }
    }
    // the audit queue past its capacity (the trail's database away): no new request, so that no
    // event-loop thread ever waits for room and every admitted request keeps its record; a kill
    // is always admitted (its record waits in memory with the others)
    if (!KILLS.contains(action) && !AuditLog.admitting()) {
      throw new OpenKcmException(
          ErrorReason.AUDIT_BACKLOG_FULL,
          "this node's audit records are not being written (queue full): "
              + action
              + " refused; retry later or at another node");
    }
    if (caller.isEmpty()) {
      AuditLog.record(
          "authz",
          "decision",
          "deny",
          "principal",
          "none",
          "action",
          action,
          "resourceType",
          resource.type(),
          "resource",
          resource.id(),
          "service",
          service,
          "cid",
          cid,
          "why",
          "no-identity");
      throw new OpenKcmException(
          ErrorReason.PERMISSION_DENIED, action + " needs a client certificate identity");
    }
    SpiffeId who = caller.get();
    Key key = new Key(who.uri(), action, resource, service);
    long now = System.nanoTime();
    Decision d = cache.get(key);
    if (d == null || now - d.expiresNanos() >= 0) {
      d = evaluate(who, action, resource, service, now);
      if (cache.size() >= settings.cacheMaxEntries()) {
        cache.clear();
      }
      cache.put(key, d);
      audit(who, action, resource, service, cid, d, false);
    } else if (!d.allowed()) {
      audit(who, action, resource, service, cid, d, true);
    }
    if (!d.allowed()) {
      throw new OpenKcmException(
          ErrorReason.PERMISSION_DENIED,
          who
              + " may not "
              + action
              + " on "
              + resource.type().toLowerCase()
              + " "
              + Fields.safe(resource.id())
              + (service.isEmpty() ? "" : " service " + Fields.safe(service))
              + " ("
              + d.why()
              + ")");
    }
  }

  /** One audit record per evaluated decision, and per denial answered from the cache. */
  private static void audit(
      SpiffeId who,
      String action,
      Resource resource,
      String service,
      String cid,
      Decision d,
      boolean cached) {
    AuditLog.record(
        "authz",
        "decision",
        d.allowed() ? "allow" : "deny",
        // the tenant's persisted chain gets its decisions
        "tenant",
        resource.type().equals("Tenant") && !resource.id().equals("*") ? resource.id() : "",
        "principal",
        who,
        "action",
        action,
        "resourceType",
        resource.type(),
        "resource",
        resource.id(),
        "service",
        service,
        "cid",
        cid,
        "policies",
        d.why(),
        "cached",
        cached);
  }

  private Decision evaluate(
      SpiffeId who, String action, Resource resource, String service, long now) {
    Policies p = current(now);
    long expires = now + settings.cacheTtl().toNanos();
    String kind = KINDS.get(who.kind());
    if (kind == null) {
      return new Decision(false, "unknown identity kind " + who.kind(), expires);
    }
    Map<String, Value> principalAttrs = new HashMap<>();
    principalAttrs.put("spiffe", new PrimString(who.uri()));
    if (kind.equals("Gateway")) {
      principalAttrs.put("tenants", strings(settings.assignments().tenantsOf(who.name())));
    }
    if (kind.equals("Admin")) {
      principalAttrs.put(
          "roles",
          strings(settings.assignments().rolesOf(who.name()).stream().map(AdminRole::id).toList()));
    }
    if (kind.equals("App")) {
      principalAttrs.put(
          "tenant", new PrimString(who.segments().size() == 3 ? who.segments().get(1) : ""));
      principalAttrs.put(
          "service", new PrimString(who.segments().size() == 3 ? who.segments().get(2) : ""));
    }
    Entity principal = new Entity(type(kind).of(who.name()), principalAttrs, Set.of());
    Entity resourceEntity =
        new Entity(
            type(resource.type()).of(resource.id()),
            Map.of("name", new PrimString(resource.id())),
            Set.of());
    EntityUID actionUid = type("Action").of(action);
    try {
      AuthorizationResponse r =
          engine.isAuthorized(
              new AuthorizationRequest(
                  principal.getEUID(),
                  actionUid,
                  resourceEntity.getEUID(),
                  new Context(Map.of("service", new PrimString(service)))),
              p.set(),
              Set.of(principal, resourceEntity));
      if (r.success.isEmpty()) {
        return new Decision(false, "evaluation failed: " + r, expires);
      }
      AuthorizationSuccessResponse ok = r.success.get();
      List<String> by = new ArrayList<>();
      ok.getReason().forEach(id -> by.add(p.names().getOrDefault(id, id)));
      boolean allowed = ok.getDecision() == AuthorizationSuccessResponse.Decision.Allow;
      String why =
          by.isEmpty()
              ? (allowed ? "?" : "no policy permits it")
              : (allowed ? "" : "forbidden by ") + by;
      if (!ok.getErrors().isEmpty()) {
        log.warn("authorization: policy errors for {} {}: {}", who, action, ok.getErrors());
      }
      return new Decision(allowed, why, expires);
    } catch (AuthException e) {
      log.warn("authorization: Cedar failed for {} {}: {}", who, action, e.getMessage());
      return new Decision(false, "evaluation failed", now);
    }
  }

  private static com.cedarpolicy.value.CedarList strings(java.util.Collection<String> values) {
    List<Value> out = new ArrayList<>();
    values.forEach(v -> out.add(new PrimString(v)));
    return new com.cedarpolicy.value.CedarList(out);
  }

  private static EntityTypeName type(String name) {
    return EntityTypeName.parse("OpenKCM::" + name)
        .orElseThrow(() -> new IllegalArgumentException(name));
  }

  private Policies current(long now) {
    if (now - nextCheckNanos >= 0) {
      synchronized (this) {
        if (now - nextCheckNanos >= 0) {
          nextCheckNanos = now + settings.reloadCheck().toNanos();
          try {
            String seen = stamp(settings);
            if (!seen.equals(policies.stamp()) && !seen.equals(refusedStamp)) {
              refusedStamp = seen;
              Policies fresh = read(settings);
              policies = fresh;
              cache.clear();
              log.info(
                  "authorization: policy files changed, {} policies now in force ({})",
                  fresh.names().size(),
                  new TreeSet<>(fresh.names().values()));
            }
          } catch (IOException | RuntimeException e) {
            log.warn(
                "authorization: changed policy files not usable, keeping the previous ones: {}",
                e.getMessage());
          }
        }
      }
    }
    return policies;
  }

  private static Policies read(Settings s) throws IOException {
    StringBuilder text = new StringBuilder();
    for (String f : s.policyFiles()) {
      if (f.startsWith(CLASSPATH)) {
        try (var in =
            Authorizer.class
                .getClassLoader()
                .getResourceAsStream(f.substring(CLASSPATH.length()))) {
          if (in == null) {
            throw new IOException("no " + f);
          }
          text.append(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8))
              .append('\n');
        }
      } else {
        text.append(Files.readString(Path.of(f))).append('\n');
      }
    }
    try {
      PolicySet set = PolicySet.parsePolicies(text.toString());
      Map<String, String> names = new HashMap<>();
      for (Policy p : set.policies) {
        String id = p.getAnnotation("id");
        names.put(p.getID(), id == null ? p.getID() : id);
      }
      return new Policies(set, Map.copyOf(names), stamp(s));
    } catch (com.cedarpolicy.model.exception.InternalException e) {
      throw new IOException("Cedar cannot parse " + s.policyFiles() + ": " + e.getMessage(), e);
    }
  }

  private static String stamp(Settings s) throws IOException {
    StringBuilder b = new StringBuilder();
    for (String f : s.policyFiles()) {
      b.append(f);
      if (!f.startsWith(CLASSPATH)) {
        Path p = Path.of(f);
        b.append(':')
            .append(Files.getLastModifiedTime(p).toMillis())
            .append(':')
            .append(Files.size(p));
      }
      b.append(';');
    }
    return b.toString();
  }
}
