package org.openkcm.kmip.server;

import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.openkcm.kmip.message.KmipException;
import org.openkcm.kmip.message.Operation;
import org.openkcm.kmip.message.ProtocolVersion;
import org.openkcm.kmip.message.RequestMessage;
import org.openkcm.kmip.message.ResponseMessage;
import org.openkcm.kmip.message.ResultReason;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.TtlvCodec;
import org.openkcm.kmip.ttlv.TtlvException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Answers one decoded request for one owner: reads the header, runs each batch item in order
 * (authorized per operation, the ID placeholder carried from item to item), and builds the
 * response. Never throws: whatever goes wrong is a KMIP failure in the response.
 */
public final class KmipEngine {

  private static final Logger log = LoggerFactory.getLogger(KmipEngine.class);

  /** May {@code owner} run {@code operation}? Throws a Permission Denied KmipException if not. */
  public interface Gate {
    Gate OPEN = (owner, operation) -> {};

    void authorize(Owner owner, Operation operation);
  }

  private final Gate gate;
  private final KeyProtector protector;
  private final Clock clock;
  private final int maxBatchItems;
  private final TtlvCodec.Limits limits;
  private final ObjectOperations objects;
  private final AttributeOperations attributes;
  private final CryptoOperations crypto;
  private final ServerOperations server;

  public KmipEngine(
      ObjectStore store,
      KeyProtector protector,
      Gate gate,
      java.security.SecureRandom random,
      Clock clock,
      int maxBatchItems,
      TtlvCodec.Limits limits) {
    this.gate = gate;
    this.protector = protector;
    this.clock = clock;
    this.maxBatchItems = maxBatchItems;
    this.limits = limits;
    this.objects = new ObjectOperations(store, protector, random);
    this.attributes = new AttributeOperations(store);
    this.crypto = new CryptoOperations(store, protector, random);
    this.server = new ServerOperations();
  }

  /**
   * The encoded answer to one encoded request (framed by {@link TtlvCodec#readMessage}). A message
   * that does not decode is answered with Invalid Message; an answer larger than the request's
   * Maximum Response Size with Response Too Large.
   */
  public byte[] answer(Owner owner, byte[] message) {
    Item root;
    try {
      root = TtlvCodec.decode(message, limits);
    } catch (TtlvException e) {
      log.info("kmip message from {} refused: {}", owner, printable(e.getMessage()));
      return TtlvCodec.encode(
          ResponseMessage.failure(
              ProtocolVersion.V1_0,
              new KmipException(ResultReason.INVALID_MESSAGE, e.getMessage()),
              clock.instant()));
    }
    Item.Struct response = handle(owner, root);
    byte[] out = TtlvCodec.encode(response);
    Optional<Integer> max = RequestMessage.maximumResponseSizeOf(root);
    if (max.isPresent() && out.length > max.get()) {
      ProtocolVersion v =
          RequestMessage.versionOf(root)
              .filter(ProtocolVersion::supported)
              .orElse(ProtocolVersion.V1_0);
      return TtlvCodec.encode(
          ResponseMessage.failure(
              v,
              new KmipException(
                  ResultReason.RESPONSE_TOO_LARGE,
                  "the answer is " + out.length + " bytes, Maximum Response Size is " + max.get()),
              clock.instant()));
    }
    return out;
  }

  public Item.Struct handle(Owner owner, Item root) {
    RequestMessage request;
    try {
      request = RequestMessage.from(root, maxBatchItems);
    } catch (KmipException e) {
      ProtocolVersion v =
          RequestMessage.versionOf(root)
              .filter(ProtocolVersion::supported)
              .orElse(ProtocolVersion.V1_0);
      return ResponseMessage.failure(v, e, clock.instant());
    }
    ProtocolVersion version = request.version();
    if (!version.supported()) {
      return ResponseMessage.failure(
          ProtocolVersion.SUPPORTED.get(0),
          new KmipException(
              version.isTwo()
                  ? ResultReason.UNSUPPORTED_PROTOCOL_VERSION
                  : ResultReason.INVALID_MESSAGE,
              "protocol version "
                  + version
                  + " is not supported; this server speaks "
                  + ProtocolVersion.SUPPORTED),
          clock.instant());
    }
    Call call = new Call(owner, version, clock.instant());
    List<ResponseMessage.Answer> answers = new ArrayList<>();
    boolean failed = false;
    for (RequestMessage.BatchItem item : request.items()) {
      if (failed && request.stopOnError()) {
        answers.add(ResponseMessage.Failure.notRun(item));
        continue;
      }
      try {
        answers.add(
            new ResponseMessage.Success(item.operationCode(), item.batchItemId(), run(call, item)));
      } catch (KmipException e) {
        failed = true;
        log.info(
            "kmip {} {} for {}: {} ({})",
            item.operation().map(Enum::name).orElse("op-" + item.operationCode()),
            "refused",
            owner,
            e.reason(),
            printable(e.getMessage()));
        answers.add(ResponseMessage.Failure.of(item, e));
      } catch (RuntimeException e) {
        failed = true;
        log.error("kmip {} for {} failed", item.operationCode(), owner, e);
        answers.add(
            ResponseMessage.Failure.of(
                item,
                new KmipException(ResultReason.GENERAL_FAILURE, "the server failed; see its log")));
      }
    }
    return ResponseMessage.of(version, answers, clock.instant());
  }

  private Item.Struct run(Call call, RequestMessage.BatchItem item) {
    Operation op =
        item.operation()
            .orElseThrow(
                () ->
                    new KmipException(
                        ResultReason.OPERATION_NOT_SUPPORTED,
                        "operation " + item.operationCode() + " is not a KMIP operation"));
    gate.authorize(call.owner, op);
    if (op != Operation.DISCOVER_VERSIONS && op != Operation.QUERY) {
      protector.requireServing(call.owner);
    }
    Item.Struct p = item.payload();
    return switch (op) {
      case DISCOVER_VERSIONS -> server.discoverVersions(p);
      case QUERY -> server.query(call, p);
      case CREATE -> objects.create(call, p);
      case REGISTER -> objects.register(call, p);
      case GET -> objects.get(call, p);
      case ACTIVATE -> objects.activate(call, p);
      case REVOKE -> objects.revoke(call, p);
      case DESTROY -> objects.destroy(call, p);
      case CHECK -> objects.check(call, p);
      case LOCATE -> objects.locate(call, p);
      case GET_ATTRIBUTES -> attributes.get(call, p);
      case GET_ATTRIBUTE_LIST -> attributes.list(call, p);
      case ADD_ATTRIBUTE -> attributes.add(call, p);
      case MODIFY_ATTRIBUTE -> attributes.modify(call, p);
      case DELETE_ATTRIBUTE -> attributes.delete(call, p);
      case SET_ATTRIBUTE -> attributes.set(call, p);
      case ENCRYPT -> crypto.encrypt(call, p);
      case DECRYPT -> crypto.decrypt(call, p);
      default ->
          throw new KmipException(
              ResultReason.OPERATION_NOT_SUPPORTED, "operation " + op + " is not supported here");
    };
  }

  /** Client-supplied text as it may go into a log line: printable ASCII, at most 300 chars. */
  static String printable(String s) {
    String clean = s.replaceAll("[^\\x20-\\x7E]", "?");
    return clean.length() > 300 ? clean.substring(0, 300) + "..." : clean;
  }

  /** The operations this server answers (for Query). */
  static final List<Operation> SUPPORTED =
      List.of(
          Operation.DISCOVER_VERSIONS,
          Operation.QUERY,
          Operation.CREATE,
          Operation.REGISTER,
          Operation.GET,
          Operation.GET_ATTRIBUTES,
          Operation.GET_ATTRIBUTE_LIST,
          Operation.ADD_ATTRIBUTE,
          Operation.MODIFY_ATTRIBUTE,
          Operation.DELETE_ATTRIBUTE,
          Operation.SET_ATTRIBUTE,
          Operation.ACTIVATE,
          Operation.REVOKE,
          Operation.DESTROY,
          Operation.LOCATE,
          Operation.CHECK,
          Operation.ENCRYPT,
          Operation.DECRYPT);

  static Optional<Operation> supported(int code) {
    return Operation.of(code).filter(SUPPORTED::contains);
  }
}
