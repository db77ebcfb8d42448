package org.openkcm.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Callable;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code ./openkcm admin console}: asks the Core (over mTLS, as the CLI's admin identity) for a
 * one-time sign-in URL of the web console and prints it.
 */
@Command(
    name = "console",
    mixinStandardHelpOptions = true,
    description = {
      "Print a one-time URL that signs a browser in to the web console as this CLI's admin identity",
      "(valid for openkcm.console.token-ttl, usable once)."
    })
final class ConsoleCommand implements Callable<Integer> {

  @Mixin AdminCommand.CoreTarget target;

  @Override
  public Integer call() throws Exception {
    Target at = target.target();
    if (at.tls().isEmpty()) {
      throw new OpenKcmException(
          ErrorReason.PERMISSION_DENIED,
          "the console signs in an admin certificate identity: pass --tls-dir or --data-dir of a demo"
              + " with mutual TLS");
    }
    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .sslContext(at.tls().get().sslContext(Set.of("core")))
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    HttpResponse<String> r =
        http.send(
            HttpRequest.newBuilder(
                    URI.create(
                        "https://" + at.at().host() + ":" + at.at().port() + "/v1/console/tokens"))
                .timeout(Cli.parseDuration(target.timeout))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build(),
            HttpResponse.BodyHandlers.ofString());
    JsonNode body = new ObjectMapper().readTree(r.body());
    if (r.statusCode() != 201) {
      throw new OpenKcmException(
          ErrorReason.parse(body.path("reason").asText()).orElse(ErrorReason.INTERNAL),
          body.path("detail").asText(r.body()));
    }
    Cli.printJson(
        java.util.Map.of(
            "url", body.get("url").asText(),
            "identity", body.get("identity").asText(),
            "expiresInSeconds", body.get("expiresInSeconds").asInt()));
    return 0;
  }
}
