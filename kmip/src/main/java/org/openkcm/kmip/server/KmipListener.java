package org.openkcm.kmip.server;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;
import org.openkcm.kmip.ttlv.TtlvCodec;
import org.openkcm.kmip.ttlv.TtlvException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * KMIP over mutual TLS (port 5696 by default): each connection is served by its own thread, one
 * request at a time as KMIP requires. The client certificate decides the owner; a connection
 * without one, or whose certificate names no application, is closed after the handshake. A message
 * that cannot even be framed (a wrong first tag, over the size limit, cut short) closes the
 * connection; anything decodable is answered.
 *
 * <p>Unauthenticated sockets cost little and never lock clients out: a connection first takes one
 * of {@code maxHandshakes} handshake slots for at most {@code handshakeTimeout}; only once its
 * certificate names an application does it take one of {@code maxConnections} connection slots,
 * with the (long) idle timeout. Only {@code protocols} are offered ({@code openkcm.tls.protocols}).
 */
public final class KmipListener implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(KmipListener.class);

  /**
   * Where and how many: {@code maxConnections} authenticated connections, {@code idleTimeout}
   * without a request closes one, at most {@code maxConnectionsPerOwner} of them one application's;
   * {@code maxHandshakes} connections still in their TLS handshake, each for at most {@code
   * handshakeTimeout}; the TLS {@code protocols} offered.
   */
  public record Settings(
      String host,
      int port,
      int maxConnections,
      Duration idleTimeout,
      TtlvCodec.Limits limits,
      int maxHandshakes,
      Duration handshakeTimeout,
      java.util.List<String> protocols,
      int maxConnectionsPerOwner) {

    public Settings {
      if (maxHandshakes < 1 || maxConnections < 1 || maxConnectionsPerOwner < 1) {
        throw new IllegalArgumentException(
            "KMIP: max-connections, max-connections-per-owner and max-handshakes must be at least"
                + " 1");
      }
      if (handshakeTimeout.isNegative() || handshakeTimeout.isZero()) {
        throw new IllegalArgumentException("KMIP: handshake-timeout must be positive");
      }
      if (protocols.isEmpty()) {
        throw new IllegalArgumentException("KMIP: no TLS protocol enabled");
      }
      protocols = java.util.List.copyOf(protocols);
    }
  }

  /** The owner a verified client certificate stands for; empty when it names none. */
  public interface Identities {
    Optional<Owner> owner(SSLSession session);
  }

  private final SSLServerSocket server;
  private final Settings settings;
  private final KmipEngine engine;
  private final Identities identities;
  private final ExecutorService workers;
  private final Semaphore slots;
  private final Semaphore handshakes;

  /** Authenticated connections open per owner: one application cannot take every slot. */
  private final java.util.Map<Owner, java.util.concurrent.atomic.AtomicInteger> perOwner =
      new ConcurrentHashMap<>();

  /** Closes a connection whose handshake is not done by its deadline (a total, not per read). */
  private final java.util.concurrent.ScheduledExecutorService deadlines =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "kmip-handshake-deadline");
            t.setDaemon(true);
            return t;
          });

  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final Thread acceptor;
  private final AtomicInteger served = new AtomicInteger();
  private volatile boolean closed;

  public KmipListener(SSLContext tls, Settings settings, KmipEngine engine, Identities identities)
      throws IOException {
    this.settings = settings;
    this.engine = engine;
    this.identities = identities;
    this.server =
        (SSLServerSocket)
            tls.getServerSocketFactory()
                .createServerSocket(settings.port(), 128, InetAddress.getByName(settings.host()));
    server.setNeedClientAuth(true);
    server.setEnabledProtocols(settings.protocols().toArray(String[]::new));
    this.workers =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "kmip-connection");
              t.setDaemon(true);
              return t;
            });
    this.slots = new Semaphore(settings.maxConnections());
    this.handshakes = new Semaphore(settings.maxHandshakes());
    this.acceptor = new Thread(this::acceptLoop, "kmip-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    log.info(
        "KMIP listening on {}:{} (mutual TLS {}, up to {} connections, {} handshakes of at most {})",
        settings.host(),
        port(),
        settings.protocols(),
        settings.maxConnections(),
        settings.maxHandshakes(),
        settings.handshakeTimeout());
  }

  public int port() {
    return server.getLocalPort();
  }

  public InetSocketAddress address() {
    return new InetSocketAddress(settings.host(), port());
  }

  /** Requests answered so far. */
  public int served() {
    return served.get();
  }

  private void acceptLoop() {
    while (!closed) {
      Socket s;
      try {
        s = server.accept();
      } catch (IOException e) {
        if (!closed) {
          log.warn("KMIP accept failed: {}", e.getMessage());
        }
        continue;
      }
      if (!handshakes.tryAcquire()) {
        log.warn(
            "KMIP connection from {} refused: {} handshakes pending",
            s.getRemoteSocketAddress(),
            settings.maxHandshakes());
        closeQuietly(s);
        continue;
      }
      open.add(s);
      workers.execute(
          () -> {
            try {
              serve((SSLSocket) s);
            } finally {
              open.remove(s);
              closeQuietly(s);
            }
          });
    }
  }

  /**
   * The handshake, in a handshake slot and within {@code handshakeTimeout}: the owner the client
   * certificate names, empty (logged) when none or when the handshake fails.
   */
  private Optional<Owner> handshake(SSLSocket s, String peer) {
    // the whole handshake within handshakeTimeout: a client trickling a byte per read timeout
    // does not hold its slot longer
    java.util.concurrent.ScheduledFuture<?> deadline =
        deadlines.schedule(
            () -> closeQuietly(s),
            settings.handshakeTimeout().toMillis(),
            java.util.concurrent.TimeUnit.MILLISECONDS);
    try {
      s.setSoTimeout((int) settings.handshakeTimeout().toMillis());
      s.setTcpNoDelay(true);
      s.startHandshake();
      if (!deadline.cancel(false)) {
        return Optional.empty(); // closed at its deadline as the handshake ended
      }
      Optional<Owner> o = identities.owner(s.getSession());
      if (o.isEmpty()) {
        log.warn("KMIP connection from {} refused: its certificate names no application", peer);
      }
      return o;
    } catch (SocketTimeoutException e) {
      log.info(
          "KMIP connection from {} closed: no handshake within {}",
          peer,
          settings.handshakeTimeout());
    } catch (SSLException e) {
      log.info("KMIP handshake with {} failed: {}", peer, e.getMessage());
    } catch (IOException e) {
      log.info("KMIP connection from {} ended during the handshake: {}", peer, e.getMessage());
    } finally {
      deadline.cancel(false);
      handshakes.release();
    }
    return Optional.empty();
  }

  private void serve(SSLSocket s) {
    String peer = String.valueOf(s.getRemoteSocketAddress());
    Optional<Owner> authenticated = handshake(s, peer);
    if (authenticated.isEmpty()) {
      return;
    }
    Owner owner = authenticated.get();
    java.util.concurrent.atomic.AtomicInteger mine =
        perOwner.computeIfAbsent(owner, o -> new java.util.concurrent.atomic.AtomicInteger());
    if (mine.incrementAndGet() > settings.maxConnectionsPerOwner()) {
      mine.decrementAndGet();
      log.warn(
          "KMIP connection of {} refused: it has {} open (max-connections-per-owner)",
          owner,
          settings.maxConnectionsPerOwner());
      return;
    }
    try {
      if (!slots.tryAcquire()) {
        log.warn(
            "KMIP connection of {} refused: {} connections open", owner, settings.maxConnections());
        return;
      }
      try {
        s.setSoTimeout((int) settings.idleTimeout().toMillis());
        converse(s, owner);
      } catch (SocketException e) {
        log.debug("KMIP connection of {} ended: {}", owner, e.getMessage());
      } finally {
        slots.release();
      }
    } finally {
      mine.decrementAndGet();
    }
  }

  /** Requests and answers, one at a time, until the client leaves, idles or sends garbage. */
  private void converse(SSLSocket s, Owner owner) {
    try (InputStream in = new BufferedInputStream(s.getInputStream(), 16 * 1024);
        OutputStream out = s.getOutputStream()) {
      while (!closed) {
        byte[] request = TtlvCodec.readMessage(in, settings.limits());
        if (request == null) {
          return;
        }
        out.write(engine.answer(owner, request));
        out.flush();
        served.incrementAndGet();
      }
    } catch (TtlvException e) {
      log.info("KMIP connection of {} closed: {}", owner, e.getMessage());
    } catch (SocketTimeoutException e) {
      log.debug("KMIP connection of {} idle, closed", owner);
    } catch (SocketException e) {
      log.debug("KMIP connection of {} ended: {}", owner, e.getMessage());
    } catch (IOException e) {
      log.info("KMIP connection of {} ended: {}", owner, e.getMessage());
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // closing anyway
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
    open.forEach(KmipListener::closeQuietly);
    workers.shutdownNow();
    deadlines.shutdownNow();
    log.info("KMIP listener on port {} closed after {} requests", port(), served.get());
  }
}
