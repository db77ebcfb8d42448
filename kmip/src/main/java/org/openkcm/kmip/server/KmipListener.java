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
 */
public final class KmipListener implements AutoCloseable {

  private static final Logger log = LoggerFactory.getLogger(KmipListener.class);

  /** Where and how many. */
  public record Settings(
      String host, int port, int maxConnections, Duration idleTimeout, TtlvCodec.Limits limits) {}

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
    server.setEnabledProtocols(new String[] {"TLSv1.3", "TLSv1.2"});
    this.workers =
        Executors.newCachedThreadPool(
            r -> {
              Thread t = new Thread(r, "kmip-connection");
              t.setDaemon(true);
              return t;
            });
    this.slots = new Semaphore(settings.maxConnections());
    this.acceptor = new Thread(this::acceptLoop, "kmip-accept");
    acceptor.setDaemon(true);
    acceptor.start();
    log.info(
        "KMIP listening on {}:{} (mutual TLS, up to {} connections)",
        settings.host(),
        port(),
        settings.maxConnections());
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
      if (!slots.tryAcquire()) {
        log.warn(
            "KMIP connection from {} refused: {} connections open",
            s.getRemoteSocketAddress(),
            settings.maxConnections());
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
              slots.release();
            }
          });
    }
  }

  private void serve(SSLSocket s) {
    String peer = String.valueOf(s.getRemoteSocketAddress());
    Owner owner;
    try {
      s.setSoTimeout((int) settings.idleTimeout().toMillis());
      s.setTcpNoDelay(true);
      s.startHandshake();
      Optional<Owner> o = identities.owner(s.getSession());
      if (o.isEmpty()) {
        log.warn("KMIP connection from {} refused: its certificate names no application", peer);
        return;
      }
      owner = o.get();
    } catch (SSLException e) {
      log.info("KMIP handshake with {} failed: {}", peer, e.getMessage());
      return;
    } catch (IOException e) {
      log.info("KMIP connection from {} ended during the handshake: {}", peer, e.getMessage());
      return;
    }
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
    log.info("KMIP listener on port {} closed after {} requests", port(), served.get());
  }
}
