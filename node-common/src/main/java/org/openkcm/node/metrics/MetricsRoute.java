package org.openkcm.node.metrics;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.management.javadsl.ManagementRouteProvider;
import org.apache.pekko.management.javadsl.ManagementRouteProviderSettings;

/**
 * {@code GET /metrics} on the management listener: the node's {@link NodeMetrics} in Prometheus'
 * text format (0.0.4). Listed under {@code pekko.management.http.routes} in config/management.conf.
 */
public final class MetricsRoute extends AllDirectives implements ManagementRouteProvider {

  private static final ContentType TEXT =
      ContentTypes.parse("text/plain; version=0.0.4; charset=utf-8");
  private static final PrometheusTextFormatWriter WRITER = new PrometheusTextFormatWriter(false);

  private final NodeMetrics metrics;

  public MetricsRoute(ExtendedActorSystem system) {
    this.metrics = NodeMetrics.get(Adapter.toTyped(system));
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    return path(
        "metrics",
        () ->
            get(
                () ->
                    complete(
                        HttpEntities.create(
                            TEXT, scrape().getBytes(java.nio.charset.StandardCharsets.UTF_8)))));
  }

  /** The current text exposition. */
  public String scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
    try {
      WRITER.write(out, metrics.registry().scrape());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString(java.nio.charset.StandardCharsets.UTF_8);
  }
}
