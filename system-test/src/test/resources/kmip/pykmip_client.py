#!/usr/bin/python3
"""Drives a KMIP server with the PyKMIP client (Debian package python3-pykmip).

usage: pykmip_client.py SCENARIO HOST PORT CERT KEY CA VERSION [ARGS...]

Prints one JSON object per step: {"step", "ok", "value" | "error", "reason"}. Never prints key
material: keys are reported by their SHA-256. Exits 0 when the scenario ran to its end (steps may
have failed; the Java test decides what must hold).
"""
import hashlib
import json
import sys

from kmip.core import enums
from kmip.core.factories import attributes as attribute_factory
from kmip.core.messages import contents, messages, payloads
from kmip.core import attributes as core_attributes
from kmip.core import objects as core_objects
from kmip.core import primitives
from kmip.pie import objects
from kmip.pie.client import ProxyKmipClient
from kmip.pie.exceptions import KmipOperationFailure

VERSIONS = {
    "1.0": enums.KMIPVersion.KMIP_1_0,
    "1.1": enums.KMIPVersion.KMIP_1_1,
    "1.2": enums.KMIPVersion.KMIP_1_2,
    "1.3": enums.KMIPVersion.KMIP_1_3,
    "1.4": enums.KMIPVersion.KMIP_1_4,
    "2.0": enums.KMIPVersion.KMIP_2_0,
}
ATTRS = attribute_factory.AttributeFactory()


def sha(b):
    return hashlib.sha256(b).hexdigest()


def emit(step, ok, **kw):
    kw.update({"step": step, "ok": ok})
    print(json.dumps(kw, default=str), flush=True)


def step(name, fn):
    try:
        value = fn()
        emit(name, True, value=value)
        return value
    except KmipOperationFailure as e:
        emit(name, False, reason=str(e.reason), error=str(e.message))
    except Exception as e:  # the connection itself failed
        emit(name, False, reason=type(e).__name__, error=str(e))
    return None


def attributes_of(client, uid, names):
    _, attrs = client.get_attributes(uid, names)
    out = {}
    for a in attrs:
        v = a.attribute_value
        if hasattr(v, "name_value"):
            v = v.name_value.value
        elif hasattr(v, "value"):
            v = v.value
        out[a.attribute_name.value] = str(v)
    return out


def raw(client, operation, payload):
    """One batch item through PyKMIP's own message classes (for fields its client API hides)."""
    item = messages.RequestBatchItem(
        operation=contents.Operation(operation), request_payload=payload)
    request = client.proxy._build_request_message(None, [item])
    response = client.proxy._send_and_receive_message(request)
    answer = response.batch_items[0]
    if answer.result_status.value != enums.ResultStatus.SUCCESS:
        raise KmipOperationFailure(
            answer.result_status.value, answer.result_reason.value, answer.result_message.value)
    return answer.response_payload


def interop(client, version, run):
    tag = version.replace(".", "") + "-" + run
    step("discover", lambda: [
        "%d.%d" % (v.major, v.minor)
        for v in client.proxy.discover_versions().protocol_versions])
    step("query", lambda: sorted(
        o.name for o in client.proxy.query(query_functions=[
            enums.QueryFunction.QUERY_OPERATIONS]).operations))
    uid = step("create", lambda: client.create(
        enums.CryptographicAlgorithm.AES, 256, name="it-key-" + tag,
        cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT,
                                  enums.CryptographicUsageMask.DECRYPT]))
    key = client.get(uid) if uid else None
    emit("get", key is not None, value={"length": len(key.value), "sha": sha(key.value)} if key else None)
    step("attributes", lambda: attributes_of(
        client, uid, ["State", "Cryptographic Length", "Cryptographic Algorithm", "Name"]))
    step("attribute-list", lambda: sorted(client.get_attribute_list(uid)))
    step("encrypt-pre-active", lambda: client.encrypt(
        b"x" * 16, uid, {"block_cipher_mode": enums.BlockCipherMode.CBC,
                        "padding_method": enums.PaddingMethod.PKCS5}, b"\0" * 16)[0].hex())
    step("activate", lambda: client.activate(uid))
    step("state-after-activate", lambda: attributes_of(client, uid, ["State"]))
    step("locate-by-name", lambda: client.locate(attributes=[
        ATTRS.create_attribute(enums.AttributeType.NAME, "it-key-" + tag)]))
    step("locate-active-aes", lambda: uid in client.locate(attributes=[
        ATTRS.create_attribute(enums.AttributeType.STATE, enums.State.ACTIVE),
        ATTRS.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_ALGORITHM,
                               enums.CryptographicAlgorithm.AES),
        ATTRS.create_attribute(enums.AttributeType.CRYPTOGRAPHIC_LENGTH, 256)]))
    step("locate-max-items", lambda: len(client.locate(maximum_items=1)))
    iv = bytes(range(16))
    cbc = {"block_cipher_mode": enums.BlockCipherMode.CBC,
           "padding_method": enums.PaddingMethod.PKCS5,
           "cryptographic_algorithm": enums.CryptographicAlgorithm.AES}
    cipher = step("encrypt-cbc", lambda: client.encrypt(b"sixteen bytes!!!+tail", uid, cbc, iv)[0].hex())
    if cipher:
        step("decrypt-cbc", lambda: client.decrypt(bytes.fromhex(cipher), uid, cbc, iv).decode())
    if True:
        gcm = core_attributes.CryptographicParameters(
            block_cipher_mode=enums.BlockCipherMode.GCM, tag_length=16)
        sealed = step("encrypt-gcm", lambda: raw(client, enums.Operation.ENCRYPT,
                      payloads.EncryptRequestPayload(
                          unique_identifier=uid, cryptographic_parameters=gcm,
                          data=b"attack at dawn", auth_additional_data=b"aad")))
        if sealed is not None:
            emit("encrypt-gcm-fields", True, value={
                "iv": len(sealed.iv_counter_nonce or b""), "tag": len(sealed.auth_tag or b""),
                "data": len(sealed.data)})
            step("decrypt-gcm", lambda: raw(client, enums.Operation.DECRYPT,
                 payloads.DecryptRequestPayload(
                     unique_identifier=uid, cryptographic_parameters=gcm, data=sealed.data,
                     iv_counter_nonce=sealed.iv_counter_nonce, auth_additional_data=b"aad",
                     auth_tag=sealed.auth_tag)).data.decode())
            step("decrypt-gcm-tampered", lambda: raw(client, enums.Operation.DECRYPT,
                 payloads.DecryptRequestPayload(
                     unique_identifier=uid, cryptographic_parameters=gcm,
                     data=bytes([sealed.data[0] ^ 1]) + sealed.data[1:],
                     iv_counter_nonce=sealed.iv_counter_nonce, auth_additional_data=b"aad",
                     auth_tag=sealed.auth_tag)).data.decode())
    material = bytes(range(16))
    reg = step("register-key", lambda: client.register(objects.SymmetricKey(
        enums.CryptographicAlgorithm.AES, 128, material, name="it-reg-" + tag)))
    if reg:
        step("get-registered", lambda: sha(client.get(reg).value) == sha(material))
    secret = bytes(range(96))
    sid = step("register-secret", lambda: client.register(objects.SecretData(
        secret, enums.SecretDataType.PASSWORD, name="it-secret-" + tag)))
    if sid:
        step("activate-secret", lambda: client.activate(sid))
        step("get-secret", lambda: sha(client.get(sid).value) == sha(secret))
    step("check", lambda: client.check(
        uid, cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT]))
    # PyKMIP's check() cannot read a failed Check; its message classes can
    step("check-sign", lambda: raw(client, enums.Operation.CHECK, payloads.CheckRequestPayload(
        unique_identifier=uid,
        cryptographic_usage_mask=enums.CryptographicUsageMask.SIGN.value)).unique_identifier)
    if version == "2.0":
        step("set-attribute", lambda: client.set_attribute(
            uid, attribute_name="Object Group", attribute_value="it-group"))
        step("modify-attribute", lambda: client.modify_attribute(
            uid, new_attribute=core_objects.NewAttribute(attribute=primitives.TextString(
                "it-group-2", tag=enums.Tags.OBJECT_GROUP)))[0])
        step("group-after-modify", lambda: attributes_of(client, uid, ["Object Group"]))
        step("delete-attribute", lambda: client.delete_attribute(
            uid, current_attribute=core_objects.CurrentAttribute(attribute=primitives.TextString(
                "it-group-2", tag=enums.Tags.OBJECT_GROUP)))[0])
        step("group-after-delete", lambda: attributes_of(client, uid, ["Object Group"]))
    else:
        step("modify-attribute", lambda: client.modify_attribute(
            uid, attribute=ATTRS.create_attribute(
                enums.AttributeType.NAME, "it-renamed-" + tag))[0])
        step("locate-renamed", lambda: client.locate(attributes=[
            ATTRS.create_attribute(enums.AttributeType.NAME, "it-renamed-" + tag)]))
        step("delete-attribute", lambda: client.delete_attribute(
            uid, attribute_name="Name", attribute_index=0)[0])
        step("names-after-delete", lambda: attributes_of(client, uid, ["Name"]))
    step("destroy-active", lambda: client.destroy(uid))
    step("revoke", lambda: client.revoke(
        enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid))
    step("state-after-revoke", lambda: attributes_of(client, uid, ["State"]))
    step("decrypt-deactivated", lambda: client.decrypt(bytes.fromhex(cipher), uid, cbc, iv).decode()
         if cipher else None)
    step("encrypt-deactivated", lambda: client.encrypt(b"x", uid, cbc, iv)[0].hex())
    step("destroy", lambda: client.destroy(uid))
    step("get-destroyed", lambda: client.get(uid).value.hex())
    step("state-after-destroy", lambda: attributes_of(client, uid, ["State"]))
    emit("uids", True, value={"key": uid, "registered": reg, "secret": sid})


def name_attr(name):
    return [ATTRS.create_attribute(enums.AttributeType.NAME, name)]


def mongodb(client, run):
    """MongoDB Enterprise: the master key as 96-byte Secret Data; delegated encryption with an AES key."""
    secret = bytes(range(96))
    uid = step("register", lambda: client.register(objects.SecretData(
        secret, enums.SecretDataType.PASSWORD)))
    step("activate", lambda: client.activate(uid))
    step("get", lambda: sha(client.get(uid).value) == sha(secret))
    kek = step("create", lambda: client.create(enums.CryptographicAlgorithm.AES, 256))
    step("activate-kek", lambda: client.activate(kek))
    cbc = {"block_cipher_mode": enums.BlockCipherMode.CBC,
           "padding_method": enums.PaddingMethod.PKCS5}
    iv = bytes(16)
    wrapped = step("encrypt", lambda: client.encrypt(secret, kek, cbc, iv)[0].hex())
    step("decrypt", lambda: sha(client.decrypt(bytes.fromhex(wrapped), kek, cbc, iv)) == sha(secret))


def percona_mysql(client, run):
    """Percona Server for MySQL keyring_kmip: Query, Locate by name, Register, Activate, Get, Revoke, Destroy."""
    name = "percona-mysql-" + run
    step("query", lambda: sorted(o.name for o in client.proxy.query(
        query_functions=[enums.QueryFunction.QUERY_OPERATIONS]).operations))
    step("locate-absent", lambda: client.locate(attributes=name_attr(name)))
    material = bytes(range(100, 132))
    uid = step("register", lambda: client.register(objects.SymmetricKey(
        enums.CryptographicAlgorithm.AES, 256, material, name=name)))
    step("activate", lambda: client.activate(uid))
    step("locate", lambda: client.locate(attributes=name_attr(name)) == [uid])
    step("get", lambda: sha(client.get(uid).value) == sha(material))
    sid = step("register-secret", lambda: client.register(objects.SecretData(
        b"mysql-keyring-secret", enums.SecretDataType.PASSWORD, name=name + "-secret")))
    step("activate-secret", lambda: client.activate(sid))
    step("get-secret", lambda: client.get(sid).value == b"mysql-keyring-secret")
    step("revoke", lambda: client.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid))
    step("destroy", lambda: client.destroy(uid))
    step("locate-after-destroy", lambda: client.locate(attributes=name_attr(name) + [
        ATTRS.create_attribute(enums.AttributeType.STATE, enums.State.ACTIVE)]))


def percona_mongodb(client, run):
    """Percona Server for MongoDB: Register, Activate, Get, Get Attributes (State)."""
    material = bytes(range(32))
    uid = step("register", lambda: client.register(objects.SymmetricKey(
        enums.CryptographicAlgorithm.AES, 256, material)))
    step("activate", lambda: client.activate(uid))
    step("get", lambda: sha(client.get(uid).value) == sha(material))
    step("state", lambda: attributes_of(client, uid, ["State"])["State"])


def vsphere(client, run):
    """VMware vSphere (KMIP 1.1): Create an AES-256 key with a name, then Get it."""
    uid = step("create", lambda: client.create(
        enums.CryptographicAlgorithm.AES, 256, name="vsphere-" + run))
    step("get", lambda: len(client.get(uid).value))


def veeam(client, run):
    """Veeam Backup: Locate, Get, Activate, Destroy (revoked first, as KMIP requires of an Active key)."""
    name = "veeam-" + run
    created = step("setup-create", lambda: client.create(
        enums.CryptographicAlgorithm.AES, 256, name=name))
    uid = step("locate", lambda: client.locate(attributes=name_attr(name))[0])
    step("same", lambda: uid == created)
    step("get", lambda: len(client.get(uid).value))
    step("activate", lambda: client.activate(uid))
    step("revoke", lambda: client.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, uid))
    step("destroy", lambda: client.destroy(uid))
    step("get-after-destroy", lambda: len(client.get(uid).value))


VENDORS = {"mongodb": mongodb, "percona-mysql": percona_mysql,
           "percona-mongodb": percona_mongodb, "vsphere": vsphere, "veeam": veeam}


def get_one(client, uid):
    step("get", lambda: sha(client.get(uid).value))
    step("locate", lambda: client.locate())


def main():
    scenario, host, port, cert, key, ca, version = sys.argv[1:8]
    rest = sys.argv[8:]
    client = ProxyKmipClient(
        hostname=host, port=int(port), cert=cert or None, key=key or None, ca=ca,
        config_file="/dev/null", kmip_version=VERSIONS[version])
    try:
        client.open()
    except Exception as e:
        emit("connect", False, reason=type(e).__name__, error=str(e))
        return
    try:
        if scenario == "interop":
            interop(client, version, rest[0] if rest else "1")
        elif scenario == "get":
            get_one(client, rest[0])
        elif scenario in VENDORS:
            VENDORS[scenario](client, rest[0] if rest else "1")
        elif scenario == "create":
            step("create", lambda: client.create(enums.CryptographicAlgorithm.AES, 256))
        else:
            emit("scenario", False, error="unknown scenario " + scenario)
    finally:
        client.close()


if __name__ == "__main__":
    main()
