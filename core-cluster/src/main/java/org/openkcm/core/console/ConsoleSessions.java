package org.openkcm.core.console;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.openkcm.node.tls.SpiffeId;

/**
 * Console sign-in without browser certificates: an admin identity proven by mTLS gets a one-time
 * token (short-lived) that a browser exchanges for a session bound to that identity; every console
 * action then runs as that identity. Tokens and sessions live in this node's memory only.
 */
public final class ConsoleSessions {

  /** A signed-in browser: who, until when, and its form token (CSRF). */
  public record Session(SpiffeId identity, Instant expires, String csrf) {}

  private record Pending(SpiffeId identity, Instant expires) {}

  private final Map<String, Pending> tokens = new ConcurrentHashMap<>();
  private final Map<String, Session> sessions = new ConcurrentHashMap<>();
  private final SecureRandom random = new SecureRandom();
  private final Clock clock;
  private final Duration tokenTtl;
  private final Duration sessionTtl;

  public ConsoleSessions(Clock clock, Duration tokenTtl, Duration sessionTtl) {
    this.clock = clock;
    this.tokenTtl = tokenTtl;
    this.sessionTtl = sessionTtl;
  }

  /** A one-time token for {@code identity}, valid for the token TTL. */
  public String issue(SpiffeId identity) {
    String token = randomId();
    tokens.put(token, new Pending(identity, clock.instant().plus(tokenTtl)));
    return token;
  }

  public Duration tokenTtl() {
    return tokenTtl;
  }

  /** Exchanges a token (once) for a session id; empty when unknown, used or expired. */
  public Optional<String> redeem(String token) {
    Pending p = tokens.remove(token);
    if (p == null || clock.instant().isAfter(p.expires())) {
      return Optional.empty();
    }
    String id = randomId();
    sessions.put(id, new Session(p.identity(), clock.instant().plus(sessionTtl), randomId()));
    return Optional.of(id);
  }

  public Optional<Session> session(String id) {
    Session s = sessions.get(id);
    if (s == null) {
      return Optional.empty();
    }
    if (clock.instant().isAfter(s.expires())) {
      sessions.remove(id);
      return Optional.empty();
    }
    return Optional.of(s);
  }

  public void end(String id) {
    sessions.remove(id);
  }

  private String randomId() {
    byte[] b = new byte[32];
    random.nextBytes(b);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
  }
}
