package org.openkcm.systemtest;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A TCP relay on loopback between two regions: it records every byte sent through it (what goes
 * over the wire) and can cut the path (open connections reset, new ones refused) and heal it.
 * Threads are daemons and end with their sockets.
 */
final class Relay implements AutoCloseable {

  private final ServerSocket server;
  private final int targetPort;
  private final ByteArrayOutputStream sent = new ByteArrayOutputStream();
  private final List<Socket> open = new CopyOnWriteArrayList<>();
  private final AtomicBoolean cut = new AtomicBoolean();
  private volatile boolean closed;

  Relay(int targetPort) throws IOException {
    this.targetPort = targetPort;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread accept = new Thread(this::accept, "relay-accept-" + port());
    accept.setDaemon(true);
    accept.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /** Everything the client side has sent so far. */
  byte[] sent() {
    synchronized (sent) {
      return sent.toByteArray();
    }
  }

  /** Cuts the path: every open connection reset, every new one refused at once. */
  void cut() {
    cut.set(true);
    for (Socket s : open) {
      try {
        s.close();
      } catch (IOException ignored) {
        // closing anyway
      }
    }
    open.clear();
  }

  void heal() {
    cut.set(false);
  }

  private void accept() {
    while (!closed) {
      try {
        Socket client = server.accept();
        if (cut.get()) {
          client.close();
          continue;
        }
        Socket target;
        try {
          target = new Socket(InetAddress.getLoopbackAddress(), targetPort);
        } catch (IOException refused) {
          client.close(); // the far side is down: so is this path
          continue;
        }
        open.add(client);
        open.add(target);
        pump(client, target, true);
        pump(target, client, false);
      } catch (IOException e) {
        if (closed) {
          return;
        }
      }
    }
  }

  private void pump(Socket from, Socket to, boolean record) {
    Thread t =
        new Thread(
            () -> {
              byte[] buf = new byte[16 * 1024];
              try (InputStream in = from.getInputStream();
                  OutputStream out = to.getOutputStream()) {
                int n;
                while ((n = in.read(buf)) >= 0) {
                  if (record) {
                    synchronized (sent) {
                      sent.write(buf, 0, n);
                    }
                  }
                  out.write(buf, 0, n);
                  out.flush();
                }
              } catch (IOException e) {
                // the other side or a cut closed it
              } finally {
                try {
                  from.close();
                  to.close();
                } catch (IOException ignored) {
                  // closing anyway
                }
              }
            },
            "relay-pump");
    t.setDaemon(true);
    t.start();
  }

  @Override
  public void close() throws IOException {
    closed = true;
    cut();
    server.close();
  }
}
