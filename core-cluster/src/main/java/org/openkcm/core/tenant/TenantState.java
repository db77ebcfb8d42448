package org.openkcm.core.tenant;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.openkcm.core.killswitch.KillRecord;
import org.openkcm.core.serialization.CborSerializable;

/**
 * What a tenant entity knows, rebuilt from its journal by {@code TenantEntity}'s event handler:
 * nothing yet ({@link Unregistered}), or a tenant ({@link Registered}) with its L1 reference and
 * key domain, its sealed L1-wrapped L2, its services' sealed L2-wrapped L3 versions, a revocation,
 * a kill, a pending re-link. Never a plaintext key: those live only in the entity's memory.
 */
public sealed interface TenantState extends CborSerializable {

  /** The last sequence number applied of events replicated from {@code originRegion}. */
  default long replicatedUpTo(String originRegion) {
    return 0;
  }

  /**
   * Every L3 version of one service, wrapped by the L2 version named in each.
   *
   * @param currentVersion the active version: every new wrap uses it; older ones only unwrap
   * @param versions the blobs of the versions that still exist (retired ones are gone)
   * @param info per version, retired ones included: when it was made and how many wraps are
   *     reserved for it (the nonce budget)
   * @param retiredBelow versions below this one are retired (destroyed); 0 when none is
   * @param pinned the service never leaves its home region (in another region: no version at all)
   */
  record ServiceKeys(
      String serviceId,
      long currentVersion,
      List<WrappedL3> versions,
      List<L3Info> info,
      long retiredBelow,
      boolean pinned)
      implements CborSerializable {

    public ServiceKeys {
      versions = List.copyOf(versions);
      info = List.copyOf(info == null ? List.of() : info);
    }

    /** What is known of {@code version} (a version made before this was recorded: age unknown). */
    public L3Info info(long version) {
      return info.stream()
          .filter(i -> i.version() == version)
          .findFirst()
          .orElse(new L3Info(version, Instant.EPOCH, 0, ""));
    }

    ServiceKeys withVersion(WrappedL3 wrapped, Instant at) {
      List<WrappedL3> v = new ArrayList<>(versions);
      v.add(wrapped);
      List<L3Info> i = new ArrayList<>(info);
      i.add(new L3Info(wrapped.version(), at, 0, ""));
      return new ServiceKeys(serviceId, wrapped.version(), v, i, retiredBelow, pinned);
    }

    ServiceKeys withReserved(long version, long upTo) {
      List<L3Info> i = new ArrayList<>();
      boolean found = false;
      for (L3Info x : info) {
        if (x.version() == version) {
          i.add(
              new L3Info(
                  version, x.createdAt(), Math.max(x.wrapsReserved(), upTo), x.destroyedSha256()));
          found = true;
        } else {
          i.add(x);
        }
      }
      if (!found) {
        i.add(new L3Info(version, Instant.EPOCH, upTo, ""));
      }
      return new ServiceKeys(serviceId, currentVersion, versions, i, retiredBelow, pinned);
    }

    ServiceKeys withBlobs(List<WrappedL3> blobs) {
      return new ServiceKeys(serviceId, currentVersion, blobs, info, retiredBelow, pinned);
    }

    /**
     * Versions below {@code below} destroyed: their blobs gone, their facts kept with the hash of
     * each destroyed blob ({@code hashes}, by version).
     */
    ServiceKeys retire(long below, Map<Long, String> hashes) {
      List<L3Info> i = new ArrayList<>();
      for (L3Info x : info) {
        String hash = hashes.getOrDefault(x.version(), x.destroyedSha256());
        i.add(new L3Info(x.version(), x.createdAt(), x.wrapsReserved(), hash));
      }
      return new ServiceKeys(
          serviceId,
          currentVersion,
          versions.stream().filter(w -> w.version() >= below).toList(),
          i,
          Math.max(retiredBelow, below),
          pinned);
    }

    /** Every version ever made, oldest first (retired ones included). */
    List<Long> allVersions() {
      java.util.TreeSet<Long> all = new java.util.TreeSet<>();
      info.forEach(i -> all.add(i.version()));
      versions.forEach(w -> all.add(w.version()));
      return List.copyOf(all);
    }
  }

  /**
   * @param wrapsReserved wraps reserved for this version so far (persisted in blocks before they
   *     are made; after a restart counting resumes here, so a crash can skip budget but never reuse
   *     it)
   */
  record L3Info(long version, Instant createdAt, long wrapsReserved, String destroyedSha256)
      implements CborSerializable {

    public L3Info {
      destroyedSha256 = destroyedSha256 == null ? "" : destroyedSha256;
    }
  }

  /** One L3 version, sealed and wrapped by L2 version {@code l2Version}. */
  record WrappedL3(long version, long l2Version, byte[] blob) implements CborSerializable {}

  /**
   * A tenant's own cryptoperiods, over the configured defaults: the L2's, the L3s' of every
   * service, and per service (empty: the default applies).
   */
  record RotationPolicy(
      Optional<java.time.Duration> l2MaxAge,
      Optional<java.time.Duration> l3MaxAge,
      Map<String, java.time.Duration> serviceL3MaxAge)
      implements CborSerializable {

    public static final RotationPolicy DEFAULTS =
        new RotationPolicy(Optional.empty(), Optional.empty(), Map.of());

    public RotationPolicy {
      l2MaxAge = l2MaxAge == null ? Optional.empty() : l2MaxAge;
      l3MaxAge = l3MaxAge == null ? Optional.empty() : l3MaxAge;
      serviceL3MaxAge = serviceL3MaxAge == null ? Map.of() : Map.copyOf(serviceL3MaxAge);
    }

    /** The L3 cryptoperiod of {@code serviceId}: its own, the tenant's, else {@code fallback}. */
    public java.time.Duration l3MaxAge(String serviceId, java.time.Duration fallback) {
      return java.util.Optional.ofNullable(serviceL3MaxAge.get(serviceId))
          .or(() -> l3MaxAge)
          .orElse(fallback);
    }
  }

  /** A re-link waiting for approval. */
  record PendingL1Link(String requestId, String l1Reference, String requestedBy, Instant at)
      implements CborSerializable {}

  /** The customer's keystore refused L1: why, and since when. */
  record L1Revocation(String reason, String message, Instant since) implements CborSerializable {}

  /**
   * No such tenant here (yet). {@code pendingKills}: kills another region pulled before its home's
   * onboarding reached this region; they are in force from the onboarding on (a kill is never lost
   * to the order events of different regions arrive in). {@code replicated}: per origin region, the
   * last sequence number of its events applied here (those pending kills), carried into the tenant
   * at its onboarding, so that none is applied twice.
   */
  public record Unregistered(Map<String, KillRecord> pendingKills, Map<String, Long> replicated)
      implements TenantState {

    public Unregistered {
      pendingKills = pendingKills == null ? Map.of() : Map.copyOf(pendingKills);
      replicated = replicated == null ? Map.of() : Map.copyOf(replicated);
    }

    public Unregistered() {
      this(Map.of(), Map.of());
    }

    Unregistered withPendingKill(String id, KillRecord k) {
      Map<String, KillRecord> next = new TreeMap<>(pendingKills);
      next.put(id, k);
      return new Unregistered(next, replicated);
    }

    Unregistered withReplicated(String origin, long upTo) {
      Map<String, Long> next = new TreeMap<>(replicated);
      next.put(origin, upTo);
      return new Unregistered(pendingKills, next);
    }

    @Override
    public long replicatedUpTo(String originRegion) {
      return replicated.getOrDefault(originRegion, 0L);
    }
  }

  /**
   * The tenant was offboarded: every key version destroyed (listed in {@code destroyed}, by the
   * hashes of their blobs); no blob is left in this state. {@code homeRegion}: the region that was
   * its home (empty: this one, or unknown for offboardings written before it was kept), the only
   * one whose re-onboarding of the id another region takes.
   */
  public record Offboarded(
      String tenantId,
      Instant at,
      String by,
      String reason,
      List<Offboarding.DestroyedKey> destroyed,
      Map<String, Long> replicated,
      String homeRegion)
      implements TenantState {

    public Offboarded {
      replicated = replicated == null ? Map.of() : Map.copyOf(replicated);
      homeRegion = homeRegion == null ? "" : homeRegion;
    }

    @Override
    public long replicatedUpTo(String originRegion) {
      return replicated.getOrDefault(originRegion, 0L);
    }
  }

  /**
   * @param l2CreatedAt when the current L2 version was made (onboarding or its last rotation)
   * @param policy the tenant's own cryptoperiods (over the configured defaults)
   * @param homeRegion the region that owns the tenant's lifecycle writes; empty: this one
   * @param replicated per origin region, the last sequence number of its events applied here
   * @param killId the id of the kill shown ({@code killed}; empty when none, or for a kill written
   *     without one)
   * @param kills every kill in force, by id (kills from several regions may be in force at once: a
   *     revive lifts those it names); {@code killed} is the earliest of them
   * @param liftedKills the kills revives lifted lately: one that arrives after its revive (from a
   *     region the revive reached first) stays lifted
   * @param keyDomain the customer's key domain of the L1 linked at onboarding (cloud account and
   *     region, HSM token): every later L1 must be of it
   */
  public record Registered(
      String tenantId,
      String l1Reference,
      long l2Version,
      byte[] wrappedL2,
      Map<String, String> l1Context,
      Instant onboardedAt,
      Map<String, ServiceKeys> services,
      Optional<L1Revocation> revocation,
      Optional<KillRecord> killed,
      String keyDomain,
      Optional<PendingL1Link> pendingLink,
      Instant l2CreatedAt,
      RotationPolicy policy,
      String homeRegion,
      Map<String, Long> replicated,
      String killId,
      Map<String, KillRecord> kills,
      List<String> liftedKills)
      implements TenantState {

    /** How many lifted kill ids a tenant remembers. */
    static final int REMEMBERED_LIFTED_KILLS = 1000;

    public Registered {
      killId = killId == null ? "" : killId;
      if (kills == null) { // written before several kills could be in force at once
        kills = killed != null && killed.isPresent() ? Map.of(killId, killed.get()) : Map.of();
      }
      kills = Map.copyOf(kills);
      liftedKills = liftedKills == null ? List.of() : List.copyOf(liftedKills);
      policy = policy == null ? RotationPolicy.DEFAULTS : policy;
      homeRegion = homeRegion == null ? "" : homeRegion;
      replicated = replicated == null ? Map.of() : Map.copyOf(replicated);
    }

    @Override
    public long replicatedUpTo(String originRegion) {
      return replicated.getOrDefault(originRegion, 0L);
    }

    /** Whether another region owns this tenant's lifecycle writes (this region holds a replica). */
    public boolean isReplica() {
      return !homeRegion.isEmpty();
    }

    /** A copy with what {@code change} sets on the draft. */
    Registered with(Consumer<Draft> change) {
      Draft d = new Draft(this);
      change.accept(d);
      return d.build();
    }

    Registered withService(ServiceKeys service) {
      return with(
          d -> {
            Map<String, ServiceKeys> next = new TreeMap<>(services);
            next.put(service.serviceId(), service);
            d.services = next;
          });
    }

    Registered withRevocation(Optional<L1Revocation> r) {
      return with(d -> d.revocation = r);
    }

    Registered withL1(String reference, byte[] wrapped, Map<String, String> context) {
      return with(
          d -> {
            d.l1Reference = reference;
            d.wrappedL2 = wrapped;
            d.l1Context = context;
            d.revocation = Optional.empty();
            d.pendingLink = Optional.empty();
          });
    }

    /** With kill {@code id} in force too (unless a revive lifted it before it arrived here). */
    Registered withKill(String id, KillRecord k) {
      if (!id.isEmpty() && liftedKills.contains(id)) {
        return this;
      }
      Map<String, KillRecord> next = new TreeMap<>(kills);
      next.put(id, k);
      return withKills(next);
    }

    /** Without the kills {@code ids}, remembered as lifted. */
    Registered withoutKills(java.util.Collection<String> ids) {
      Map<String, KillRecord> next = new TreeMap<>(kills);
      next.keySet().removeAll(ids);
      List<String> lifted = new ArrayList<>(liftedKills);
      ids.stream().filter(i -> !i.isEmpty() && !lifted.contains(i)).forEach(lifted::add);
      while (lifted.size() > REMEMBERED_LIFTED_KILLS) {
        lifted.remove(0);
      }
      return withKills(next).with(d -> d.liftedKills = List.copyOf(lifted));
    }

    /**
     * The kills in force {@code next}; the one shown is the earliest (then by id): the same in
     * every region.
     */
    private Registered withKills(Map<String, KillRecord> next) {
      Optional<Map.Entry<String, KillRecord>> shown =
          next.entrySet().stream()
              .min(
                  java.util.Comparator.comparing(
                          (Map.Entry<String, KillRecord> e) -> e.getValue().since())
                      .thenComparing(Map.Entry::getKey));
      return with(
          d -> {
            d.kills = next;
            d.killed = shown.map(Map.Entry::getValue);
            d.killId = shown.map(Map.Entry::getKey).orElse("");
          });
    }

    /** Every service's blobs replaced by those in {@code l3Versions} (the others kept). */
    Registered withBlobs(byte[] l2, Map<String, List<WrappedL3>> l3Versions) {
      return with(
          d -> {
            Map<String, ServiceKeys> next = new TreeMap<>();
            services.forEach(
                (id, keys) ->
                    next.put(id, keys.withBlobs(l3Versions.getOrDefault(id, keys.versions()))));
            d.wrappedL2 = l2;
            d.services = next;
          });
    }

    Registered withPendingLink(Optional<PendingL1Link> p) {
      return with(d -> d.pendingLink = p);
    }
  }

  /** The mutable copy {@link Registered#with} edits; never escapes the event handler. */
  final class Draft {
    private final Registered from;
    String l1Reference;
    long l2Version;
    byte[] wrappedL2;
    Map<String, String> l1Context;
    Map<String, ServiceKeys> services;
    Optional<L1Revocation> revocation;
    Optional<KillRecord> killed;
    Optional<PendingL1Link> pendingLink;
    Instant l2CreatedAt;
    RotationPolicy policy;
    String homeRegion;
    Map<String, Long> replicated;
    String killId;
    Map<String, KillRecord> kills;
    List<String> liftedKills;

    private Draft(Registered r) {
      from = r;
      l1Reference = r.l1Reference();
      l2Version = r.l2Version();
      wrappedL2 = r.wrappedL2();
      l1Context = r.l1Context();
      services = r.services();
      revocation = r.revocation();
      killed = r.killed();
      pendingLink = r.pendingLink();
      l2CreatedAt = r.l2CreatedAt();
      policy = r.policy();
      homeRegion = r.homeRegion();
      replicated = r.replicated();
      killId = r.killId();
      kills = r.kills();
      liftedKills = r.liftedKills();
    }

    private Registered build() {
      return new Registered(
          from.tenantId(),
          l1Reference,
          l2Version,
          wrappedL2,
          l1Context,
          from.onboardedAt(),
          Map.copyOf(services),
          revocation,
          killed,
          from.keyDomain(),
          pendingLink,
          l2CreatedAt,
          policy,
          homeRegion,
          replicated,
          killId,
          kills,
          liftedKills);
    }
  }
}
