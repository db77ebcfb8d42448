package org.openkcm.kmip.server;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.openkcm.kmip.message.Items;
import org.openkcm.kmip.message.KmipException;
import org.openkcm.kmip.message.ResultReason;
import org.openkcm.kmip.ttlv.Item;
import org.openkcm.kmip.ttlv.Tag;

/**
 * Get Attributes, Get Attribute List, Add/Modify/Delete Attribute (KMIP 1.x and 2.0 forms) and Set
 * Attribute (2.0). Server-managed attributes are read-only; a destroyed object's attributes can
 * still be read.
 */
final class AttributeOperations {

  /** Not listed unless asked for by name (some clients cannot read it back). */
  private static final String HIDDEN = "Revocation Reason";

  private final ObjectStore store;

  AttributeOperations(ObjectStore store) {
    this.store = store;
  }

  Item.Struct get(Call call, Item.Struct p) {
    String uid = call.uid(p);
    ManagedObject o = ObjectOperations.object(store, call, uid);
    List<String> names = new ArrayList<>();
    for (Item n : p.all(Tag.ATTRIBUTE_NAME)) {
      names.add(text(n, "Attribute Name"));
    }
    for (Item r : p.all(Tag.ATTRIBUTE_REFERENCE)) {
      names.add(reference(r));
    }
    List<Attribute> out = new ArrayList<>();
    for (Attribute a : o.visibleAttributes()) {
      if (names.isEmpty() ? !a.name().equals(HIDDEN) : names.contains(a.name())) {
        out.add(a);
      }
    }
    List<Item> payload = new ArrayList<>();
    payload.add(new Item.Text(Tag.UNIQUE_IDENTIFIER, uid));
    if (call.version.isTwo()) {
      payload.add(
          new Item.Struct(Tag.ATTRIBUTES, out.stream().flatMap(a -> a.toV2().stream()).toList()));
    } else {
      out.forEach(a -> payload.add(a.toV1()));
    }
    return new Item.Struct(Tag.RESPONSE_PAYLOAD, payload);
  }

  Item.Struct list(Call call, Item.Struct p) {
    String uid = call.uid(p);
    ManagedObject o = ObjectOperations.object(store, call, uid);
    List<Item> payload = new ArrayList<>();
    payload.add(new Item.Text(Tag.UNIQUE_IDENTIFIER, uid));
    List<String> seen = new ArrayList<>();
    for (Attribute a : o.visibleAttributes()) {
      if (seen.contains(a.name())) {
        continue;
      }
      seen.add(a.name());
      if (call.version.isTwo()) {
        Attribute.tagOf(a.name())
            .ifPresent(t -> payload.add(new Item.Enumeration(Tag.ATTRIBUTE_REFERENCE, t.code)));
      } else {
        payload.add(new Item.Text(Tag.ATTRIBUTE_NAME, a.name()));
      }
    }
    return new Item.Struct(Tag.RESPONSE_PAYLOAD, payload);
  }

  Item.Struct add(Call call, Item.Struct p) {
    String uid = call.uid(p);
    ManagedObject o = ObjectOperations.live(store, call, uid);
    Attribute given = given(call, p, Tag.NEW_ATTRIBUTE);
    writable(call, given.name());
    List<Attribute> attrs = new ArrayList<>(o.attributes());
    List<Attribute> same = o.all(given.name());
    if (!same.isEmpty() && !ManagedObject.MULTI_VALUED.contains(given.name()) && !given.custom()) {
      throw new KmipException(
          call.version.isTwo() ? ResultReason.ATTRIBUTE_SINGLE_VALUED : ResultReason.INVALID_FIELD,
          "object " + uid + " already has " + given.name() + "; modify it instead");
    }
    int index = same.stream().mapToInt(Attribute::index).max().orElse(-1) + 1;
    Attribute added = new Attribute(given.name(), index, given.value());
    attrs.add(added);
    ObjectOperations.requireUniqueNames(store, call, List.of(added), uid);
    store.put(o.withAttributes(attrs, call.now));
    return answer(call, uid, added);
  }

  Item.Struct modify(Call call, Item.Struct p) {
    String uid = call.uid(p);
    ManagedObject o = ObjectOperations.live(store, call, uid);
    Attribute given = given(call, p, Tag.NEW_ATTRIBUTE);
    writable(call, given.name());
    int index = given.index();
    if (call.version.isTwo()) {
      Optional<Item.Struct> current = Items.optStruct(p, Tag.CURRENT_ATTRIBUTE);
      if (current.isPresent()) {
        Attribute c = RequestAttributes.fromV2(single(current.get()));
        index = instance(call, o, c).index();
      }
    }
    int at = index;
    Attribute old =
        o.all(given.name()).stream()
            .filter(a -> a.index() == at)
            .findFirst()
            .orElseThrow(
                () ->
                    new KmipException(
                        call.version.isTwo()
                            ? ResultReason.ATTRIBUTE_NOT_FOUND
                            : ResultReason.ITEM_NOT_FOUND,
                        "object " + uid + " has no " + given.name() + " #" + at));
    Attribute changed = new Attribute(given.name(), at, given.value());
    ObjectOperations.requireUniqueNames(store, call, List.of(changed), uid);
    List<Attribute> attrs = new ArrayList<>(o.attributes());
    attrs.set(attrs.indexOf(old), changed);
    store.put(o.withAttributes(attrs, call.now));
    return answer(call, uid, changed);
  }

  Item.Struct set(Call call, Item.Struct p) {
    String uid = call.uid(p);
    ManagedObject o = ObjectOperations.live(store, call, uid);
    Attribute given = given(call, p, Tag.NEW_ATTRIBUTE);
    writable(call, given.name());
    Attribute next = new Attribute(given.name(), 0, given.value());
    ObjectOperations.requireUniqueNames(store, call, List.of(next), uid);
    List<Attribute> attrs = new ArrayList<>(o.attributes());
    attrs.removeIf(a -> a.name().equals(given.name()));
    attrs.add(next);
    store.put(o.withAttributes(attrs, call.now));
    return new Item.Struct(
        Tag.RESPONSE_PAYLOAD, List.of(new Item.Text(Tag.UNIQUE_IDENTIFIER, uid)));
  }

  Item.Struct delete(Call call, Item.Struct p) {
    String uid = call.uid(p);
    ManagedObject o = ObjectOperations.live(store, call, uid);
    Attribute gone;
    if (call.version.isTwo()) {
      Optional<Item.Struct> current = Items.optStruct(p, Tag.CURRENT_ATTRIBUTE);
      if (current.isPresent()) {
        gone = instance(call, o, RequestAttributes.fromV2(single(current.get())));
      } else {
        String name =
            reference(
                p.find(Tag.ATTRIBUTE_REFERENCE)
                    .orElseThrow(() -> Items.missing(Tag.ATTRIBUTE_REFERENCE)));
        gone = first(call, o, name, 0);
      }
    } else {
      String name =
          Items.optText(p, Tag.ATTRIBUTE_NAME).orElseThrow(() -> Items.missing(Tag.ATTRIBUTE_NAME));
      gone = first(call, o, name, Items.optInteger(p, Tag.ATTRIBUTE_INDEX).orElse(0));
    }
    writable(call, gone.name());
    List<Attribute> attrs = new ArrayList<>(o.attributes());
    attrs.remove(gone);
    store.put(o.withAttributes(attrs, call.now));
    if (call.version.isTwo()) {
      return new Item.Struct(
          Tag.RESPONSE_PAYLOAD, List.of(new Item.Text(Tag.UNIQUE_IDENTIFIER, uid)));
    }
    return answer(call, uid, gone);
  }

  /** The attribute of an Add/Modify/Set: 1.x Attribute, 2.0 New Attribute {one item}. */
  private static Attribute given(Call call, Item.Struct p, Tag newTag) {
    if (call.version.isTwo()) {
      return RequestAttributes.fromV2(single(Items.requiredStruct(p, newTag)));
    }
    return RequestAttributes.fromV1(Items.requiredStruct(p, Tag.ATTRIBUTE));
  }

  private static Item single(Item.Struct holder) {
    if (holder.items().size() != 1) {
      throw new KmipException(
          ResultReason.INVALID_MESSAGE, "an attribute holder carries exactly one attribute");
    }
    return holder.items().get(0);
  }

  private static Attribute instance(Call call, ManagedObject o, Attribute wanted) {
    return o.all(wanted.name()).stream()
        .filter(a -> Values.sameValue(a.value(), wanted.value()))
        .findFirst()
        .orElseThrow(
            () ->
                new KmipException(
                    ResultReason.ATTRIBUTE_INSTANCE_NOT_FOUND,
                    "object " + o.uid() + " has no such " + wanted.name()));
  }

  private static Attribute first(Call call, ManagedObject o, String name, int index) {
    return o.all(name).stream()
        .filter(a -> a.index() == index)
        .findFirst()
        .orElseThrow(
            () ->
                new KmipException(
                    call.version.isTwo()
                        ? ResultReason.ATTRIBUTE_NOT_FOUND
                        : ResultReason.ITEM_NOT_FOUND,
                    "object " + o.uid() + " has no " + name + " #" + index));
  }

  private static void writable(Call call, String name) {
    if (ManagedObject.SERVER_MANAGED.contains(name) || name.equals("Object Type")) {
      throw new KmipException(
          call.version.isTwo() ? ResultReason.ATTRIBUTE_READ_ONLY : ResultReason.PERMISSION_DENIED,
          "attribute " + name + " is set by the server");
    }
  }

  private static Item.Struct answer(Call call, String uid, Attribute a) {
    List<Item> out = new ArrayList<>();
    out.add(new Item.Text(Tag.UNIQUE_IDENTIFIER, uid));
    if (!call.version.isTwo()) {
      out.add(a.toV1());
    }
    return new Item.Struct(Tag.RESPONSE_PAYLOAD, out);
  }

  /** The attribute name an Attribute Reference (2.0: the attribute's tag, or a structure) means. */
  private static String reference(Item r) {
    if (r instanceof Item.Enumeration e) {
      return Tag.of(e.value())
          .map(Attribute::nameOf)
          .orElseThrow(
              () ->
                  new KmipException(
                      ResultReason.UNSUPPORTED_ATTRIBUTE, "attribute reference " + e.value()));
    }
    if (r instanceof Item.Struct s) {
      return Items.optText(s, Tag.ATTRIBUTE_NAME)
          .orElseThrow(() -> Items.missing(Tag.ATTRIBUTE_NAME));
    }
    throw new KmipException(ResultReason.INVALID_FIELD, "Attribute Reference has the wrong type");
  }

  private static String text(Item i, String what) {
    if (i instanceof Item.Text t) {
      return t.value();
    }
    throw new KmipException(ResultReason.INVALID_FIELD, what + " must be a Text String");
  }
}
