package org.openkcm.cli;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.openkcm.protocol.orbital.v1.PeerStatus;
import org.openkcm.protocol.orbital.v1.StatusReply;
import org.openkcm.protocol.orbital.v1.StatusRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code ./openkcm admin orbital status}: this region's replication with each peer. */
@Command(
    name = "orbital",
    mixinStandardHelpOptions = true,
    description = "Multi-region replication (Orbital).",
    subcommands = {OrbitalCommand.Status.class})
final class OrbitalCommand {

  @Command(
      name = "status",
      mixinStandardHelpOptions = true,
      description = {
        "Per peer region: connected or not, events written here it has not acknowledged, how old",
        "the oldest of them is, the last acknowledged journal offset; events applied here from it",
        "and their delay (p50/p99 ms)."
      })
  static final class Status implements Callable<Integer> {
    @Option(
        names = "--orbital",
        required = true,
        description = "This region's Orbital endpoint HOST:PORT (openkcm.orbital.port).")
    String orbital;

    @Option(
        names = "--tls-dir",
        description = "mTLS client material: DIR/cli.crt, cli.key, ca.crt (none: plaintext).")
    Path tlsDir;

    @Option(
        names = "--timeout",
        defaultValue = "15s",
        description = "Deadline of the call (default: ${DEFAULT-VALUE}).")
    String timeout;

    @Override
    public Integer call() {
      Duration deadline = Cli.parseDuration(timeout);
      Target at = Target.resolve(orbital, Path.of("."), tlsDir, e -> orbital);
      try (ClientSystem clients = new ClientSystem()) {
        StatusReply r =
            Cli.await(
                clients.orbital(at, deadline).status(StatusRequest.getDefaultInstance()), deadline);
        Cli.printJson(json(r));
        return 0;
      }
    }
  }

  static Map<String, Object> json(StatusReply r) {
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("region", r.getRegion());
    List<Map<String, Object>> peers = new ArrayList<>();
    for (PeerStatus p : r.getPeersList()) {
      Map<String, Object> one = new LinkedHashMap<>();
      one.put("peer", p.getPeer());
      one.put("connected", p.getConnected());
      one.put("eventsBehind", p.getEventsBehind());
      one.put("secondsBehind", p.getSecondsBehind());
      one.put("lastAcknowledgedOffset", p.getLastAcknowledgedOffset());
      if (!p.getLastError().isEmpty()) {
        one.put("lastError", p.getLastError());
      }
      one.put("appliedFromPeer", p.getAppliedFromPeer());
      if (!p.getLastAppliedAt().isEmpty()) {
        one.put("lastAppliedAt", p.getLastAppliedAt());
      }
      one.put("lagP50Ms", p.getLagP50Ms());
      one.put("lagP99Ms", p.getLagP99Ms());
      peers.add(one);
    }
    out.put("peers", peers);
    return out;
  }
}
