package org.openkcm.systemtest.k8s;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.openkcm.node.config.NodeConfig;

/**
 * Renders every overlay of {@code k8s/} with {@code kubectl kustomize} (offline), reads each object
 * into the Kubernetes object model (fabric8 8.0.0; a field the schema does not know fails), and
 * checks that what the manifests ask of the nodes exists: every OPENKCM_* variable is read by
 * {@code config/}, every container port is a port the configuration listens on, every probe path is
 * the one management serves, every profile and role the nodes accept, every SPIFFE id in the trust
 * domain. The sidecar example is read the same way.
 */
class K8sManifestsTest {

  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  private static final KubernetesSerialization K8S = new KubernetesSerialization();

  @ParameterizedTest
  @ValueSource(strings = {"k8s/overlays/dev", "k8s/overlays/prod", "k8s/examples"})
  void everyObjectIsValidAndAsksOnlyForWhatTheNodesHave(String dir) throws Exception {
    String yaml = dir.endsWith("examples") ? examples() : kustomize(dir);
    List<HasMetadata> objects = parse(yaml);
    assertFalse(objects.isEmpty(), dir + " renders nothing");

    Set<String> env = configEnvVars();
    Set<Integer> ports = configPorts();
    Config management = ConfigFactory.parseFile(ROOT.resolve("config/management.conf").toFile());
    Set<String> probePaths =
        Set.of(
            "/" + management.getString("pekko.management.health-checks.readiness-path"),
            "/" + management.getString("pekko.management.health-checks.liveness-path"));

    int containers = 0;
    for (HasMetadata o : objects) {
      unknownFields(o, o.getKind() + "/" + o.getMetadata().getName(), new ArrayList<>())
          .forEach(
              f -> {
                throw new AssertionError(dir + ": a field the schema does not know: " + f);
              });
      PodSpec pod = podSpec(o);
      if (pod == null) {
        continue;
      }
      for (Container c : pod.getContainers()) {
        if (!c.getImage().startsWith("openkcm/")) {
          continue;
        }
        containers++;
        String where = dir + " " + o.getMetadata().getName() + "/" + c.getName();
        List<String> args = c.getArgs();
        assertTrue(Set.of("core", "gateway").contains(args.get(0)), where + ": role " + args);
        assertEquals("--profile", args.get(1), where);
        assertTrue(NodeConfig.PROFILES.contains(args.get(2)), where + ": profile " + args.get(2));
        Set<String> local = new HashSet<>();
        for (EnvVar e : c.getEnv()) {
          local.add(e.getName());
          if (e.getName().startsWith("OPENKCM_")) {
            assertTrue(env.contains(e.getName()), where + ": config/ reads no " + e.getName());
          } else {
            assertTrue(
                e.getValueFrom() != null && e.getValueFrom().getFieldRef() != null,
                where + ": " + e.getName() + " is neither OPENKCM_* nor from the downward API");
          }
          if (e.getValue() != null) {
            Matcher ref = Pattern.compile("\\$\\(([A-Z_]+)\\)").matcher(e.getValue());
            while (ref.find()) {
              assertTrue(
                  local.contains(ref.group(1)), where + ": $(" + ref.group(1) + ") undefined");
            }
          }
        }
        for (ContainerPort p : c.getPorts()) {
          assertTrue(
              ports.contains(p.getContainerPort()),
              where + ": config/ listens on no port " + p.getContainerPort());
        }
        for (Probe probe : Arrays.asList(c.getReadinessProbe(), c.getLivenessProbe())) {
          assertTrue(probe != null, where + ": readiness and liveness probes");
          HTTPGetAction get = probe.getHttpGet();
          assertTrue(probePaths.contains(get.getPath()), where + ": probe path " + get.getPath());
          assertEquals("management", get.getPort().getStrVal(), where);
          assertTrue(
              c.getPorts().stream().anyMatch(p -> "management".equals(p.getName())),
              where + ": no port named management");
        }
      }
    }
    assertTrue(containers > 0, dir + ": no OpenKCM container");
  }

  @ParameterizedTest
  @ValueSource(strings = {"k8s/overlays/dev", "k8s/overlays/prod"})
  void theOverlaysCarryTheProductionPieces(String dir) throws Exception {
    List<HasMetadata> objects = parse(kustomize(dir));
    Set<String> kinds = new HashSet<>();
    objects.forEach(o -> kinds.add(o.getKind()));
    assertTrue(
        kinds.containsAll(
            Set.of(
                "StatefulSet",
                "Deployment",
                "Service",
                "ServiceAccount",
                "Role",
                "RoleBinding",
                "PodDisruptionBudget",
                "NetworkPolicy",
                "Certificate",
                "ServiceMonitor",
                "Secret")),
        dir + ": " + kinds);
    StatefulSet core =
        objects.stream()
            .filter(StatefulSet.class::isInstance)
            .map(StatefulSet.class::cast)
            .findFirst()
            .orElseThrow();
    int replicas = core.getSpec().getReplicas();
    String contactPoints =
        core.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv().stream()
            .filter(e -> e.getName().equals("OPENKCM_REQUIRED_CONTACT_POINTS"))
            .findFirst()
            .orElseThrow()
            .getValue();
    assertEquals(
        String.valueOf(replicas), contactPoints, dir + ": bootstrap waits for every replica");
    assertEquals(dir.endsWith("prod") ? 3 : 1, replicas, dir);
    String trustDomain =
        core.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv().stream()
            .filter(e -> e.getName().equals("OPENKCM_TLS_TRUST_DOMAIN"))
            .findFirst()
            .orElseThrow()
            .getValue();
    for (HasMetadata o : objects) {
      if (o instanceof GenericKubernetesResource g && o.getKind().equals("Certificate")) {
        @SuppressWarnings("unchecked")
        List<String> uris =
            (List<String>)
                ((Map<String, Object>) g.getAdditionalProperties().get("spec")).get("uris");
        assertEquals(1, uris.size(), o.getMetadata().getName());
        assertTrue(
            uris.get(0)
                .matches(
                    "spiffe://"
                        + Pattern.quote(trustDomain)
                        + "/(core|gateway|admin)/[a-z0-9-]+|spiffe://"
                        + Pattern.quote(trustDomain)
                        + "/app/[a-z0-9-]+/[a-z0-9-]+"),
            uris.get(0));
      }
    }
    if (dir.endsWith("prod")) {
      assertTrue(
          objects.stream()
              .anyMatch(o -> o.getMetadata().getName().equals("openkcm-grafana-dashboard")),
          "prod carries the Grafana dashboard");
    }
  }

  @org.junit.jupiter.api.Test
  void theDashboardAsksOnlyForMetricsTheNodesExport() throws IOException {
    String dashboard = Files.readString(ROOT.resolve("k8s/overlays/prod/grafana-dashboard.json"));
    Set<String> exported = new HashSet<>();
    Pattern literal = Pattern.compile("\"(openkcm_[a-z0-9_]+)\"");
    for (String module :
        List.of("node-common", "core-cluster", "gateway-node", "orbital-replicator")) {
      try (Stream<Path> files = Files.walk(ROOT.resolve(module).resolve("src/main/java"))) {
        for (Path f : files.filter(f -> f.toString().endsWith(".java")).toList()) {
          Matcher m = literal.matcher(Files.readString(f));
          while (m.find()) {
            exported.add(m.group(1).replaceAll("_(total|bucket|count|sum)$", ""));
          }
        }
      }
    }
    Matcher used = Pattern.compile("(openkcm_[a-z0-9_]+)").matcher(dashboard);
    int count = 0;
    while (used.find()) {
      String name = used.group(1).replaceAll("_(total|bucket|count|sum)$", "");
      assertTrue(
          exported.contains(name),
          "the dashboard reads " + used.group(1) + ", which no node exports");
      count++;
    }
    assertTrue(count >= 10, "the dashboard reads the nodes' metrics: " + count);
  }

  private static String kustomize(String dir) throws Exception {
    assumeTrue(
        Stream.of(System.getenv("PATH").split(":"))
            .anyMatch(p -> Files.isExecutable(Path.of(p, "kubectl"))),
        "kubectl is not installed: the overlays cannot be rendered here");
    Process p =
        new ProcessBuilder("kubectl", "kustomize", ROOT.resolve(dir).toString())
            .redirectErrorStream(true)
            .start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "kubectl kustomize " + dir + " hung");
    assertEquals(0, p.exitValue(), "kubectl kustomize " + dir + ":\n" + out);
    return out;
  }

  private static String examples() throws IOException {
    StringBuilder all = new StringBuilder();
    try (Stream<Path> files = Files.list(ROOT.resolve("k8s/examples"))) {
      for (Path f : files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList()) {
        all.append(Files.readString(f)).append("\n---\n");
      }
    }
    return all.toString();
  }

  private static List<HasMetadata> parse(String yaml) {
    List<HasMetadata> out = new ArrayList<>();
    for (String doc : yaml.split("(?m)^---\\s*$")) {
      if (doc.lines().allMatch(l -> l.isBlank() || l.stripLeading().startsWith("#"))) {
        continue;
      }
      Object o = K8S.unmarshal(doc);
      assertTrue(o instanceof HasMetadata, "not a Kubernetes object: " + doc);
      out.add((HasMetadata) o);
    }
    return out;
  }

  private static PodSpec podSpec(HasMetadata o) {
    if (o instanceof StatefulSet s) {
      return s.getSpec().getTemplate().getSpec();
    }
    if (o instanceof Deployment d) {
      return d.getSpec().getTemplate().getSpec();
    }
    return null;
  }

  /** Paths of fields the typed model did not know (they land in additionalProperties). */
  private static List<String> unknownFields(Object o, String path, List<String> found)
      throws IllegalAccessException {
    if (o == null || o instanceof GenericKubernetesResource) {
      return found;
    }
    if (o instanceof Collection<?> c) {
      int i = 0;
      for (Object e : c) {
        unknownFields(e, path + "[" + i++ + "]", found);
      }
      return found;
    }
    if (o instanceof Map<?, ?> m) {
      for (Map.Entry<?, ?> e : m.entrySet()) {
        unknownFields(e.getValue(), path + "." + e.getKey(), found);
      }
      return found;
    }
    if (!o.getClass().getName().startsWith("io.fabric8.kubernetes.api.model")) {
      return found;
    }
    for (Class<?> k = o.getClass(); k != null && k != Object.class; k = k.getSuperclass()) {
      for (Field f : k.getDeclaredFields()) {
        if (Modifier.isStatic(f.getModifiers())) {
          continue;
        }
        f.setAccessible(true);
        Object v = f.get(o);
        if (f.getName().equals("additionalProperties") && v instanceof Map<?, ?> extra) {
          extra.keySet().forEach(key -> found.add(path + "." + key));
        } else {
          unknownFields(v, path + "." + f.getName(), found);
        }
      }
    }
    return found;
  }

  private static Set<String> configEnvVars() throws IOException {
    Set<String> names = new HashSet<>();
    Pattern p = Pattern.compile("\\$\\{\\?([A-Z0-9_]+)}");
    for (String text : configTexts()) {
      Matcher m = p.matcher(text);
      while (m.find()) {
        names.add(m.group(1));
      }
    }
    // logback reads its own: ${OPENKCM_LOG_FORMAT:-text}
    Matcher m =
        Pattern.compile("\\$\\{(OPENKCM_[A-Z0-9_]+):-")
            .matcher(Files.readString(ROOT.resolve("config/logback.xml")));
    while (m.find()) {
      names.add(m.group(1));
    }
    return names;
  }

  private static Set<Integer> configPorts() throws IOException {
    Set<Integer> ports = new HashSet<>();
    Pattern p = Pattern.compile("(?m)^\\s*(?:[a-z.-]+\\.)?port = (\\d+)\\s*$");
    for (String text : configTexts()) {
      Matcher m = p.matcher(text);
      while (m.find()) {
        ports.add(Integer.parseInt(m.group(1)));
      }
    }
    return ports;
  }

  private static List<String> configTexts() throws IOException {
    List<String> texts = new ArrayList<>();
    try (Stream<Path> files = Files.walk(ROOT.resolve("config"))) {
      for (Path f : files.filter(f -> f.toString().endsWith(".conf")).toList()) {
        texts.add(Files.readString(f));
      }
    }
    return texts;
  }
}
