package org.openkcm.node.tls;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A SPIFFE identity, {@code spiffe://<trust-domain>/<kind>/<name>...}, as carried in the one URI
 * SAN of an OpenKCM certificate. Kinds: {@code core}, {@code gateway}, {@code app} ({@code
 * app/<tenant>/<service>}), {@code admin}.
 */
public record SpiffeId(String trustDomain, List<String> segments) {

  private static final Pattern TRUST_DOMAIN = Pattern.compile("[a-z0-9._-]{1,255}");
  private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9._-]{1,128}");
  private static final int URI_SAN = 6;

  public SpiffeId {
    segments = List.copyOf(segments);
  }

  /** Parses {@code spiffe://domain/a/b}; the message of the exception says what is wrong. */
  public static SpiffeId parse(String uri) {
    if (uri == null || !uri.startsWith("spiffe://")) {
      throw new IllegalArgumentException("a SPIFFE id starts with spiffe://");
    }
    String rest = uri.substring("spiffe://".length());
    int slash = rest.indexOf('/');
    String domain = slash < 0 ? rest : rest.substring(0, slash);
    if (!TRUST_DOMAIN.matcher(domain).matches()) {
      throw new IllegalArgumentException("SPIFFE trust domain must be 1..255 of a-z 0-9 . _ -");
    }
    if (slash < 0 || slash == rest.length() - 1) {
      throw new IllegalArgumentException(
          "SPIFFE id has no path (spiffe://" + domain + "/<kind>/<name>)");
    }
    List<String> segments = List.of(rest.substring(slash + 1).split("/", -1));
    for (String s : segments) {
      if (!SEGMENT.matcher(s).matches() || s.equals(".") || s.equals("..")) {
        throw new IllegalArgumentException(
            "SPIFFE path segments must be 1..128 of A-Z a-z 0-9 . _ - (and not . or ..)");
      }
    }
    return new SpiffeId(domain, segments);
  }

  /** The SPIFFE id of {@code cert}: its single {@code spiffe://} URI SAN, if it has exactly one. */
  public static Optional<SpiffeId> of(X509Certificate cert) {
    List<String> uris = new ArrayList<>();
    try {
      Collection<List<?>> sans = cert.getSubjectAlternativeNames();
      if (sans != null) {
        for (List<?> san : sans) {
          if (((Integer) san.get(0)) == URI_SAN
              && san.get(1) instanceof String uri
              && uri.startsWith("spiffe://")) {
            uris.add(uri);
          }
        }
      }
    } catch (CertificateParsingException e) {
      return Optional.empty();
    }
    if (uris.size() != 1) {
      return Optional.empty();
    }
    try {
      return Optional.of(parse(uris.get(0)));
    } catch (IllegalArgumentException e) {
      return Optional.empty();
    }
  }

  /** The first path segment: core, gateway, app or admin. */
  public String kind() {
    return segments.get(0);
  }

  /** The path after the kind, joined with '/' (for app identities: tenant/service). */
  public String name() {
    return String.join("/", segments.subList(1, segments.size()));
  }

  /**
   * Whether this id is {@code prefix} or below it: the same trust domain, and the path starts with
   * every segment of {@code prefix} ({@code spiffe://d/core/eu/node-1} is within {@code
   * spiffe://d/core/eu}; {@code spiffe://d/core/eu-2} is not).
   */
  public boolean isWithin(SpiffeId prefix) {
    return trustDomain.equals(prefix.trustDomain)
        && segments.size() >= prefix.segments.size()
        && segments.subList(0, prefix.segments.size()).equals(prefix.segments);
  }

  public String uri() {
    return "spiffe://" + trustDomain + "/" + String.join("/", segments);
  }

  @Override
  public String toString() {
    return uri();
  }
}
