package org.openkcm.bench.kmip;

import java.io.BufferedInputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.openkcm.kmip.message.Items;
import org.openkcm.kmip.message.ObjectType;
import org.openkcm.kmip.message.Operation;
import org.openkcm.kmip.message.ProtocolVersion;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;
import org.openkcm.kmip.ttlv.TtlvCodec;

/**
 * A Java KMIP load driver (our TTLV codec over JSSE): N connections, each sending one request at a
 * time for a while, KMIP 1.4. Workloads as in pykmip_load.py: {@code cycle} (Create, Get, Destroy)
 * and {@code get}. For measuring the server where the Python client is the bottleneck.
 */
public final class KmipLoad {

  /** Requests per second and per-request latency percentiles of one run. */
  public record Result(
      String workload, int clients, long requests, double seconds, long errors, Histogram latency) {
    public double rps() {
      return requests / seconds;
    }

    public double p50Millis() {
      return latency.getValueAtPercentile(50) / 1e6;
    }

    public double p99Millis() {
      return latency.getValueAtPercentile(99) / 1e6;
    }
  }

  private static final ProtocolVersion V14 = new ProtocolVersion(1, 4);
  private static final TtlvCodec.Limits LIMITS = TtlvCodec.Limits.DEFAULT;

  private KmipLoad() {}

  public static Result run(
      SSLContext tls, InetSocketAddress server, String workload, int clients, double seconds)
      throws Exception {
    Recorder recorder = new Recorder(3);
    AtomicLong requests = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    long start = System.nanoTime() + 1_000_000_000L;
    long stop = start + (long) (seconds * 1e9);
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      Thread t =
          new Thread(
              () -> {
                try (SSLSocket s =
                    (SSLSocket)
                        tls.getSocketFactory()
                            .createSocket(server.getHostString(), server.getPort())) {
                  s.setTcpNoDelay(true);
                  InputStream in = new BufferedInputStream(s.getInputStream());
                  OutputStream out = s.getOutputStream();
                  String key = workload.equals("get") ? create(in, out) : null;
                  while (System.nanoTime() < start) {
                    Thread.onSpinWait();
                  }
                  while (System.nanoTime() < stop) {
                    try {
                      if (key != null) {
                        timed(recorder, () -> call(in, out, request(Operation.GET, uid(key))));
                      } else {
                        String[] made = new String[1];
                        timed(recorder, () -> made[0] = create(in, out));
                        timed(recorder, () -> call(in, out, request(Operation.GET, uid(made[0]))));
                        timed(
                            recorder,
                            () -> call(in, out, request(Operation.DESTROY, uid(made[0]))));
                      }
                    } catch (RuntimeException e) {
                      errors.incrementAndGet();
                    }
                  }
                } catch (Exception e) {
                  errors.incrementAndGet();
                }
              },
              "kmip-load-" + i);
      threads.add(t);
      t.start();
    }
    for (Thread t : threads) {
      t.join();
    }
    Histogram h = recorder.getIntervalHistogram();
    requests.set(h.getTotalCount());
    return new Result(workload, clients, requests.get(), seconds, errors.get(), h);
  }

  private interface Step {
    void run() throws Exception;
  }

  private static void timed(Recorder r, Step step) {
    long t = System.nanoTime();
    try {
      step.run();
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    r.recordValue(System.nanoTime() - t);
  }

  private static String create(InputStream in, OutputStream out) throws Exception {
    Item.Struct payload =
        call(
            in,
            out,
            request(
                Operation.CREATE,
                new Item.Enumeration(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY.code),
                new Item.Struct(
                    Tag.TEMPLATE_ATTRIBUTE,
                    List.of(
                        attribute(
                            "Cryptographic Algorithm",
                            new Item.Enumeration(Tag.ATTRIBUTE_VALUE, 3)),
                        attribute(
                            "Cryptographic Length", new Item.Int(Tag.ATTRIBUTE_VALUE, 256))))));
    return Items.optText(payload, Tag.UNIQUE_IDENTIFIER).orElseThrow();
  }

  private static Item attribute(String name, Item value) {
    return new Item.Struct(Tag.ATTRIBUTE, List.of(new Item.Text(Tag.ATTRIBUTE_NAME, name), value));
  }

  private static Item uid(String uid) {
    return new Item.Text(Tag.UNIQUE_IDENTIFIER, uid);
  }

  private static byte[] request(Operation op, Item... payload) {
    return TtlvCodec.encode(
        new Item.Struct(
            Tag.REQUEST_MESSAGE,
            List.of(
                new Item.Struct(
                    Tag.REQUEST_HEADER, List.of(V14.toItem(), new Item.Int(Tag.BATCH_COUNT, 1))),
                new Item.Struct(
                    Tag.BATCH_ITEM,
                    List.of(
                        new Item.Enumeration(Tag.OPERATION, op.code),
                        new Item.Struct(Tag.REQUEST_PAYLOAD, List.of(payload)))))));
  }

  /** Sends one request, answers its payload; a failed item throws. */
  private static Item.Struct call(InputStream in, OutputStream out, byte[] request)
      throws Exception {
    out.write(request);
    out.flush();
    Item.Struct response =
        (Item.Struct) TtlvCodec.decode(TtlvCodec.readMessage(in, LIMITS), LIMITS);
    Item.Struct item = Items.requiredStruct(response, Tag.BATCH_ITEM);
    if (Items.enumeration(item, Tag.RESULT_STATUS) != 0) {
      throw new IllegalStateException(
          "KMIP failure: " + Items.optText(item, Tag.RESULT_MESSAGE).orElse(""));
    }
    return Items.requiredStruct(item, Tag.RESPONSE_PAYLOAD);
  }
}
