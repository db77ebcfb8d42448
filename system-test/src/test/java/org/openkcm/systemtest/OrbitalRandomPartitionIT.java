package org.openkcm.systemtest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.openkcm.core.testing.Rpc.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.openkcm.core.testing.Rpc;
import org.openkcm.orbital.Orbital;
import org.openkcm.protocol.admin.v1.CreateServiceRequest;
import org.openkcm.protocol.admin.v1.CreateTenantRequest;
import org.openkcm.protocol.admin.v1.GetTenantRequest;
import org.openkcm.protocol.admin.v1.KillSwitchRequest;
import org.openkcm.protocol.admin.v1.KillTenantRequest;
import org.openkcm.protocol.admin.v1.OffboardTenantRequest;
import org.openkcm.protocol.admin.v1.RetireKeysRequest;
import org.openkcm.protocol.admin.v1.ReviveTenantRequest;
import org.openkcm.protocol.admin.v1.RotateKeyRequest;
import org.openkcm.protocol.admin.v1.TenantInfo;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;

/**
 * Three regions on PostgreSQL, every pair joined by relays the test cuts, and a seeded schedule of
 * operations at random regions — generate, decrypt, L3 and L2 rotation, retirement, kill, revive,
 * region kill-switch engage and release, offboarding — interleaved with link cuts, heals and a Core
 * restart. At the end every link heals and a checker asserts: every region holds the same state of
 * every tenant (digests); every envelope made answers the same in every region (its key, or one and
 * the same reason); a kill issued where the home region could not hear it is not lifted by a revive
 * issued before the link healed. On failure it prints the seed and the whole schedule as run (no
 * shrinking). {@code -Dopenkcm.partition.seed=N} replays a seed, {@code -Dopenkcm.partition.ops=N}
 * sets the length (the suite runs 120; longer runs are a benchmark).
 */
class OrbitalRandomPartitionIT {

  private static final List<String> REGIONS = List.of("eu", "us", "ap");
  private static final List<String> TENANTS = List.of("t0", "t1", "t2");

  /** One envelope made: where, of which tenant and version, and its key. */
  record Made(String tenant, String region, GenerateDataKeyResponse response) {}

  private final Map<String, PgStack> stacks = new LinkedHashMap<>();
  private final Map<String, Orbital> orbitals = new HashMap<>();
  private final Map<String, Relay> relays = new HashMap<>(); // "eu>us": eu's outbox to us
  private final Map<String, String> home = new HashMap<>();
  private final Set<String> cut = new TreeSet<>(); // "eu|us"
  private final List<String> history = new ArrayList<>();
  private final List<Made> made = new ArrayList<>();
  private final Set<String> offboarded = new TreeSet<>();

  /** A kill issued at {@code region} (step {@code step}) while its link to the home was cut. */
  record UnheardKill(String tenant, String region, int step) {}

  private final List<UnheardKill> unheardKills = new ArrayList<>();

  /** Per link, the steps at which it healed; per tenant, the steps of revives that succeeded. */
  private final Map<String, List<Integer>> heals = new HashMap<>();

  private final Map<String, List<Integer>> revives = new HashMap<>();

  @Test
  void randomOperationsUnderPartitionsConvergeAndAgree() throws Exception {
    long seed = Long.getLong("openkcm.partition.seed", System.nanoTime());
    int ops = Integer.getInteger("openkcm.partition.ops", 300);
    Random random = new Random(seed);
    try {
      start();
      for (int i = 0; i < ops; i++) {
        step(random, i);
      }
      for (String link : List.copyOf(cut)) {
        heal(link);
      }
      long healed = System.nanoTime();
      check();
      System.out.printf(
          "OrbitalRandomPartitionIT: seed %d, %d operations, %d envelopes; every region agreed %d ms"
              + " after the last heal%n",
          seed, ops, made.size(), (System.nanoTime() - healed) / 1_000_000);
    } catch (Throwable e) {
      System.err.println(
          "OrbitalRandomPartitionIT failed with seed "
              + seed
              + " (rerun: -Dopenkcm.partition.seed="
              + seed
              + "); the schedule as run:\n  "
              + String.join("\n  ", history));
      throw e;
    } finally {
      stop();
    }
  }

  // ---------------------------------------------------------------- the schedule

  private void step(Random random, int i) throws Exception {
    String region = REGIONS.get(random.nextInt(REGIONS.size()));
    String tenant = TENANTS.get(random.nextInt(TENANTS.size()));
    int kind = random.nextInt(100);
    String what;
    if (kind < 30) {
      what = generate(region, tenant);
    } else if (kind < 40) {
      what = decryptOne(region, random);
    } else if (kind < 47) {
      what =
          admin(
              home.get(tenant),
              "at " + home.get(tenant) + ": rotate " + tenant,
              a -> a.rotateServiceKey(rotate(tenant)));
    } else if (kind < 50) {
      what =
          admin(
              home.get(tenant),
              "at " + home.get(tenant) + ": rotate-l2 " + tenant,
              a -> a.rotateTenantKey(rotate(tenant)));
    } else if (kind < 54) {
      what = retire(tenant);
    } else if (kind < 61) {
      String homeLink = region.equals(home.get(tenant)) ? "" : linkOf(region, home.get(tenant));
      what =
          admin(
              region,
              "at " + region + ": kill " + tenant,
              a ->
                  a.killTenant(
                      KillTenantRequest.newBuilder()
                          .setTenantId(tenant)
                          .setReason("step " + i)
                          .setRequestedBy("it")
                          .build()));
      if (what.endsWith("ok") && cut.contains(homeLink)) {
        unheardKills.add(new UnheardKill(tenant, region, i));
      }
    } else if (kind < 67) {
      what =
          admin(
              home.get(tenant),
              "at " + home.get(tenant) + ": revive " + tenant,
              a ->
                  a.reviveTenant(
                      ReviveTenantRequest.newBuilder()
                          .setTenantId(tenant)
                          .setRequestedBy("it")
                          .build()));
      if (what.endsWith("ok")) {
        revives.computeIfAbsent(tenant, t -> new ArrayList<>()).add(i);
      }
    } else if (kind < 70) {
      String scope = "region:" + REGIONS.get(random.nextInt(REGIONS.size()));
      what =
          admin(
              region,
              "at " + region + ": engage " + scope,
              a -> a.engageKillSwitch(switchOf(scope).setReason("step " + i).build()));
    } else if (kind < 74) {
      String scope = "region:" + REGIONS.get(random.nextInt(REGIONS.size()));
      what =
          admin(
              region,
              "at " + region + ": release " + scope,
              a -> a.releaseKillSwitch(switchOf(scope).build()));
    } else if (kind < 76) {
      what = offboard(tenant);
    } else if (kind < 88) {
      String link = link(random);
      if (cut.add(link)) {
        relays(link).forEach(Relay::cut);
      }
      what = "cut " + link;
    } else if (kind < 99) {
      String link = link(random);
      if (cut.contains(link)) {
        heals.computeIfAbsent(link, l -> new ArrayList<>()).add(i);
      }
      heal(link);
      what = "heal " + link;
    } else {
      what = restart(region);
    }
    history.add(i + ": " + what);
  }

  private String generate(String region, String tenant) {
    try {
      GenerateDataKeyResponse r =
          await(
              stacks
                  .get(region)
                  .app(tenant, "s")
                  .generateDataKey(
                      GenerateDataKeyRequest.newBuilder()
                          .setTenantId(tenant)
                          .setServiceId("s")
                          .build()));
      made.add(new Made(tenant, region, r));
      return "at " + region + ": generate " + tenant + " -> v" + r.getL3Version();
    } catch (OpenKcmException e) {
      return "at " + region + ": generate " + tenant + " -> " + e.reason();
    }
  }

  private String decryptOne(String region, Random random) {
    if (made.isEmpty()) {
      return "decrypt (nothing made yet)";
    }
    Made m = made.get(random.nextInt(made.size()));
    return "at "
        + region
        + ": decrypt "
        + m.tenant()
        + " v"
        + m.response().getL3Version()
        + " -> "
        + open(region, m);
  }

  private String retire(String tenant) {
    try {
      TenantInfo t = tenant(home.get(tenant), tenant);
      long current = t.getServices(0).getL3Version();
      if (current < 2) {
        return "retire " + tenant + " (one version only)";
      }
      return admin(
          home.get(tenant),
          "at " + home.get(tenant) + ": retire " + tenant + " below " + current,
          a ->
              a.retireServiceKeys(
                  RetireKeysRequest.newBuilder()
                      .setTenantId(tenant)
                      .setServiceId("s")
                      .setBelow((int) current)
                      .setRequestedBy("it")
                      .build()));
    } catch (OpenKcmException e) {
      return "retire " + tenant + " -> " + e.reason();
    }
  }

  private String offboard(String tenant) {
    String r =
        admin(
            home.get(tenant),
            "at " + home.get(tenant) + ": offboard " + tenant,
            a ->
                a.offboardTenant(
                    OffboardTenantRequest.newBuilder()
                        .setTenantId(tenant)
                        .setReason("it")
                        .setRequestedBy("it")
                        .build()));
    if (r.endsWith("ok")) {
      offboarded.add(tenant);
    }
    return r;
  }

  private String restart(String region) throws Exception {
    orbitals.remove(region).close();
    PgStack s = stacks.get(region);
    s.stopCore();
    s.startCore();
    orbitals.put(region, Orbital.init(s.core().system()).orElseThrow());
    return "restart the Core of " + region;
  }

  private <T> String admin(
      String region,
      String what,
      java.util.function.Function<
              org.openkcm.protocol.admin.v1.AdminServiceClient,
              java.util.concurrent.CompletionStage<T>>
          call) {
    try {
      stacks.get(region).admin(call);
      return what + " -> ok";
    } catch (OpenKcmException e) {
      return what + " -> " + e.reason();
    }
  }

  private static RotateKeyRequest rotate(String tenant) {
    return RotateKeyRequest.newBuilder()
        .setTenantId(tenant)
        .setServiceId("s")
        .setRequestedBy("it")
        .build();
  }

  private static KillSwitchRequest.Builder switchOf(String scope) {
    return KillSwitchRequest.newBuilder().setScope(scope).setRequestedBy("it");
  }

  private static String link(Random random) {
    int a = random.nextInt(REGIONS.size());
    int b = (a + 1 + random.nextInt(REGIONS.size() - 1)) % REGIONS.size();
    return linkOf(REGIONS.get(a), REGIONS.get(b));
  }

  private static String linkOf(String a, String b) {
    return REGIONS.indexOf(a) < REGIONS.indexOf(b) ? a + "|" + b : b + "|" + a;
  }

  private List<Relay> relays(String link) {
    String[] ends = link.split("\\|");
    return List.of(relays.get(ends[0] + ">" + ends[1]), relays.get(ends[1] + ">" + ends[0]));
  }

  private void heal(String link) {
    if (cut.remove(link)) {
      relays(link).forEach(Relay::heal);
    }
  }

  // ---------------------------------------------------------------- the checker

  private void check() throws Exception {
    PgStack any = stacks.get("eu");
    // every kill-switch engagement lifted, from every region (an operator's release lifts what is
    // in force where it is issued), until none is in force anywhere
    eventually(
        any,
        () -> {
          for (String region : REGIONS) {
            for (String r : REGIONS) {
              admin(region, "release", a -> a.releaseKillSwitch(switchOf("region:" + r).build()));
            }
          }
          for (String region : REGIONS) {
            for (String r : REGIONS) {
              assertEquals(
                  0,
                  stacks
                      .get(region)
                      .admin(a -> a.getKillSwitch(switchOf("region:" + r).build()))
                      .getEngagedCount(),
                  region + " still has region:" + r + " engaged");
            }
          }
        });
    history.add("end: every link healed, every kill-switch released");
    // one state of every tenant in every region
    for (String t : TENANTS) {
      eventually(
          any,
          () -> {
            Set<String> states = new TreeSet<>();
            for (String region : REGIONS) {
              states.add(describe(region, t));
            }
            assertEquals(1, states.size(), t + " differs between regions: " + states);
          });
    }
    // a kill the home region could not hear holds, unless a revive came after the link healed
    for (UnheardKill k : unheardKills) {
      if (offboarded.contains(k.tenant())) {
        continue;
      }
      String homeRegion = home.get(k.tenant());
      int healed =
          heals.getOrDefault(linkOf(k.region(), homeRegion), List.of()).stream()
              .filter(h -> h > k.step())
              .findFirst()
              .orElse(Integer.MAX_VALUE);
      boolean revivedAfter =
          revives.getOrDefault(k.tenant(), List.of()).stream().anyMatch(r -> r > healed);
      if (!revivedAfter) {
        assertEquals(
            "killed",
            tenant(homeRegion, k.tenant()).getStatus(),
            "the kill of "
                + k.tenant()
                + " at step "
                + k.step()
                + " in "
                + k.region()
                + " was lifted by a revive that could not name it");
      }
    }
    // every envelope answers the same everywhere: its key, or one and the same reason
    for (Made m : made) {
      Set<String> answers = new TreeSet<>();
      for (String region : REGIONS) {
        answers.add(open(region, m));
      }
      assertEquals(
          1,
          answers.size(),
          m.tenant()
              + " v"
              + m.response().getL3Version()
              + " made in "
              + m.region()
              + " answers differently: "
              + answers);
      String answer = answers.iterator().next();
      if (offboarded.contains(m.tenant())) {
        assertEquals(ErrorReason.TENANT_OFFBOARDED.name(), answer, m.toString());
      }
    }
  }

  /** A tenant's state in {@code region}: its digest, or the reason it has none. */
  private String describe(String region, String tenant) {
    try {
      TenantInfo t = tenant(region, tenant);
      return t.getStatus()
          + ":"
          + t.getStateDigest()
          + " (L2 v"
          + t.getL2Version()
          + ", "
          + t.getServicesList().stream()
              .map(v -> v.getServiceId() + " v" + v.getL3Version())
              .toList()
          + (t.getKillReason().isEmpty()
              ? ""
              : ", kill " + t.getKillReason() + " by " + t.getKilledBy() + " " + t.getKilledSince())
          + ", kills "
          + t.getKillIdsList()
          + ")";
    } catch (OpenKcmException e) {
      return e.reason().name();
    }
  }

  /** What {@code region} answers for envelope {@code m}: "ok" with the right key, or a reason. */
  private String open(String region, Made m) {
    try {
      byte[] key =
          await(
                  stacks
                      .get(region)
                      .app(m.tenant(), "s")
                      .decrypt(
                          DecryptRequest.newBuilder()
                              .setTenantId(m.tenant())
                              .setEnvelope(m.response().getEnvelope())
                              .build()))
              .getPlaintext()
              .toByteArray();
      return java.util.Arrays.equals(key, m.response().getPlaintext().toByteArray())
          ? "ok"
          : "WRONG KEY";
    } catch (OpenKcmException e) {
      return e.reason().name();
    }
  }

  private TenantInfo tenant(String region, String tenant) {
    return stacks
        .get(region)
        .admin(a -> a.getTenant(GetTenantRequest.newBuilder().setTenantId(tenant).build()));
  }

  private static void eventually(PgStack any, Runnable check) {
    Eventually.holds(
        any.client,
        Duration.ofSeconds(60),
        () -> {
          check.run();
          return null;
        });
  }

  // ---------------------------------------------------------------- the regions

  private void start() throws Exception {
    Path l1 = Files.createTempDirectory("openkcm-random-l1");
    Map<String, Integer> orbitalPorts = new HashMap<>();
    for (String r : REGIONS) {
      orbitalPorts.put(r, Rpc.freePort());
    }
    for (String from : REGIONS) {
      for (String to : REGIONS) {
        if (!from.equals(to)) {
          relays.put(from + ">" + to, new Relay(orbitalPorts.get(to)));
        }
      }
    }
    for (int i = 0; i < REGIONS.size(); i++) {
      String name = REGIONS.get(i);
      Map<String, Object> c = new HashMap<>();
      c.put("openkcm.core.region", name);
      c.put("openkcm.core.kill-switch.refresh-interval", "500ms");
      c.put("openkcm.orbital.enabled", true);
      c.put("openkcm.orbital.port", orbitalPorts.get(name));
      c.put("openkcm.orbital.min-backoff", "100ms");
      c.put("openkcm.orbital.max-backoff", "500ms");
      c.put("openkcm.orbital.call-timeout", "2s");
      c.put("openkcm.orbital.purge-interval", "500ms");
      List<Map<String, Object>> peers = new ArrayList<>();
      for (String n : REGIONS) {
        if (!n.equals(name)) {
          peers.add(
              Map.of("name", n, "host", "127.0.0.1", "port", relays.get(name + ">" + n).port()));
        }
      }
      c.put("openkcm.orbital.peers", peers);
      c.put("openkcm.core.keystore.devfile.directory", l1.toString());
      OrbitalRegions.mutualTls(c, name, l1);
      PgStack stack = PgStack.start("rnd-" + name, c, Map.of());
      stacks.put(name, stack);
      orbitals.put(name, Orbital.init(stack.core().system()).orElseThrow());
      // tenant t<i> is homed in region i (its key exists before the next region starts)
      String t = TENANTS.get(i);
      home.put(t, name);
      stack.admin(
          a ->
              a.createTenant(
                  CreateTenantRequest.newBuilder()
                      .setTenantId(t)
                      .setL1Reference("devfile:" + t + "-root")
                      .build()));
      stack.admin(
          a ->
              a.createService(
                  CreateServiceRequest.newBuilder().setTenantId(t).setServiceId("s").build()));
    }
    for (String t : TENANTS) { // every tenant everywhere before the schedule starts
      eventually(
          stacks.get("eu"),
          () -> {
            for (String r : REGIONS) {
              tenant(r, t);
            }
          });
    }
  }

  private void stop() {
    for (Orbital o : orbitals.values()) {
      try {
        o.close();
      } catch (Exception e) {
        // closing down
      }
    }
    for (PgStack s : stacks.values()) {
      try {
        s.close();
      } catch (Exception e) {
        // closing down
      }
    }
    for (Relay r : relays.values()) {
      try {
        r.close();
      } catch (Exception e) {
        // closing down
      }
    }
  }
}
