package org.openkcm.kmip.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;
import static org.openkcm.kmip.server.Requests.aes256;
import static org.openkcm.kmip.server.Requests.op;
import static org.openkcm.kmip.server.Requests.request;
import static org.openkcm.kmip.server.Requests.uid;

import java.security.SecureRandom;
import java.time.Clock;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.openkcm.kmip.message.ObjectType;
import org.openkcm.kmip.message.Operation;
import org.openkcm.kmip.message.ProtocolVersion;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;
import org.openkcm.kmip.ttlv.TtlvCodec;

/**
 * Mutated requests of every operation through the whole engine: each one gets a well-formed
 * Response Message (a failure where it must be) and never an exception. Seeded; the seed and run
 * are named on failure.
 */
class KmipEngineFuzzTest {

  private static final long SEED = Long.getLong("kmip.fuzz.seed", 0x5EEDL);
  private static final int RUNS = Integer.getInteger("kmip.engine-fuzz.runs", 200_000);

  @Test
  void everyMutatedRequestIsAnswered() {
    KmipEngine engine =
        new KmipEngine(
            new InMemoryObjectStore(),
            new TestProtector(),
            KmipEngine.Gate.OPEN,
            new SecureRandom(),
            Clock.systemUTC(),
            16,
            TtlvCodec.Limits.DEFAULT);
    Owner owner = new Owner("acme", "billing");
    ProtocolVersion v = new ProtocolVersion(1, 4);
    Item type = new Item.Enumeration(Tag.OBJECT_TYPE, ObjectType.SYMMETRIC_KEY.code);
    List<byte[]> seeds =
        List.of(
            TtlvCodec.encode(
                request(
                    v,
                    op(Operation.CREATE, type, aes256("f")),
                    op(Operation.ACTIVATE),
                    op(Operation.GET),
                    op(Operation.ENCRYPT, new Item.Bytes(Tag.DATA, new byte[20])),
                    op(
                        Operation.REVOKE,
                        new Item.Struct(
                            Tag.REVOCATION_REASON,
                            List.of(new Item.Enumeration(Tag.REVOCATION_REASON_CODE, 5)))),
                    op(Operation.DESTROY))),
            TtlvCodec.encode(
                request(ProtocolVersion.V2_0, op(Operation.LOCATE), op(Operation.QUERY))),
            TtlvCodec.encode(
                request(
                    v, op(Operation.GET_ATTRIBUTES, uid("x")), op(Operation.DISCOVER_VERSIONS))));
    SplittableRandom random = new SplittableRandom(SEED);
    for (int run = 0; run < RUNS; run++) {
      byte[] m = seeds.get(random.nextInt(seeds.size())).clone();
      for (int flips = random.nextInt(1, 4); flips > 0; flips--) {
        m[random.nextInt(m.length)] ^= (byte) (1 << random.nextInt(8));
      }
      try {
        Item answer = TtlvCodec.decode(engine.answer(owner, m), TtlvCodec.Limits.DEFAULT);
        assertEquals(Tag.RESPONSE_MESSAGE.code, answer.tag());
      } catch (RuntimeException | Error e) {
        fail("seed " + SEED + " run " + run + ": " + e, e);
      }
    }
  }
}
