package org.openkcm.cli;

import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import org.openkcm.protocol.error.ErrorReason;
import org.openkcm.protocol.error.OpenKcmException;
import org.openkcm.protocol.gateway.v1.CreateKeyRequest;
import org.openkcm.protocol.gateway.v1.CreateKeyResponse;
import org.openkcm.protocol.gateway.v1.DestroyBySubjectRequest;
import org.openkcm.protocol.gateway.v1.DestroyKeyRequest;
import org.openkcm.protocol.gateway.v1.GetKeyRequest;
import org.openkcm.protocol.gateway.v1.KeyVaultServiceClient;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code ./openkcm key create|get|destroy}: data keys kept by id in the gateway's L4 vault. */
@Command(
    name = "key",
    mixinStandardHelpOptions = true,
    description = "Data keys kept by id in the gateway's vault.",
    subcommands = {KeyCommand.Create.class, KeyCommand.Get.class, KeyCommand.Destroy.class})
final class KeyCommand {

  @Command(
      name = "create",
      mixinStandardHelpOptions = true,
      description =
          "Create a data key, keep its envelope in the vault: prints {\"keyId\", \"plaintext\"}.")
  static final class Create implements Callable<Integer> {
    @Mixin DataKeyCommand.GatewayTarget target;

    @Option(names = "--tenant", required = true, description = "Tenant id.")
    String tenant;

    @Option(names = "--service", required = true, description = "Service id.")
    String service;

    @Option(
        names = "--subject",
        defaultValue = "",
        description = "Tag for destroy --subject (e.g. a user id).")
    String subject;

    @Option(names = "--context", description = "Encryption context entry k=v (repeatable).")
    Map<String, String> context = new LinkedHashMap<>();

    @Override
    public Integer call() {
      try (ClientSystem clients = new ClientSystem()) {
        KeyVaultServiceClient gw =
            clients.vault(target.resolveApp(tenant, service), target.timeout());
        CreateKeyResponse r =
            Cli.await(
                gw.createKey(
                    CreateKeyRequest.newBuilder()
                        .setTenantId(tenant)
                        .setServiceId(service)
                        .setSubject(subject)
                        .putAllContext(context)
                        .build()),
                target.timeout());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("keyId", r.getKeyId());
        out.put("plaintext", Base64.getEncoder().encodeToString(r.getPlaintext().toByteArray()));
        Cli.printJson(out);
        return 0;
      }
    }
  }

  @Command(
      name = "get",
      mixinStandardHelpOptions = true,
      description = "A vault key's plaintext: prints {\"plaintext\"}.")
  static final class Get implements Callable<Integer> {
    @Mixin DataKeyCommand.GatewayTarget target;

    @Option(names = "--tenant", required = true, description = "Tenant id.")
    String tenant;

    @Option(
        names = "--service",
        required = true,
        description = "Service id the key was created for.")
    String service;

    @Option(names = "--id", required = true, description = "Key id (k_...).")
    String id;

    @Override
    public Integer call() {
      try (ClientSystem clients = new ClientSystem()) {
        KeyVaultServiceClient gw =
            clients.vault(target.resolveApp(tenant, service), target.timeout());
        byte[] plain =
            Cli.await(
                    gw.getKey(
                        GetKeyRequest.newBuilder()
                            .setTenantId(tenant)
                            .setServiceId(service)
                            .setKeyId(id)
                            .build()),
                    target.timeout())
                .getPlaintext()
                .toByteArray();
        Cli.printJson(Map.of("plaintext", Base64.getEncoder().encodeToString(plain)));
        return 0;
      }
    }
  }

  @Command(
      name = "destroy",
      mixinStandardHelpOptions = true,
      description = "Crypto-shred one key (--id) or every key of a subject (--subject).")
  static final class Destroy implements Callable<Integer> {
    @Mixin DataKeyCommand.GatewayTarget target;

    @Option(names = "--tenant", required = true, description = "Tenant id.")
    String tenant;

    @Option(
        names = "--service",
        required = true,
        description = "Service id the keys were created for.")
    String service;

    @Option(names = "--id", description = "Key id (k_...).")
    String id;

    @Option(names = "--subject", description = "Every key tagged with this subject.")
    String subject;

    @Override
    public Integer call() {
      if ((id == null) == (subject == null)) {
        throw new OpenKcmException(
            ErrorReason.INVALID_ARGUMENT, "give exactly one of --id or --subject");
      }
      try (ClientSystem clients = new ClientSystem()) {
        KeyVaultServiceClient gw =
            clients.vault(target.resolveApp(tenant, service), target.timeout());
        if (id != null) {
          boolean now =
              Cli.await(
                      gw.destroyKey(
                          DestroyKeyRequest.newBuilder()
                              .setTenantId(tenant)
                              .setServiceId(service)
                              .setKeyId(id)
                              .build()),
                      target.timeout())
                  .getDestroyedNow();
          Cli.printJson(Map.of("keyId", id, "destroyedNow", now));
        } else {
          int n =
              Cli.await(
                      gw.destroyBySubject(
                          DestroyBySubjectRequest.newBuilder()
                              .setTenantId(tenant)
                              .setServiceId(service)
                              .setSubject(subject)
                              .build()),
                      target.timeout())
                  .getDestroyed();
          Cli.printJson(Map.of("subject", subject, "destroyed", n));
        }
        return 0;
      }
    }
  }
}
