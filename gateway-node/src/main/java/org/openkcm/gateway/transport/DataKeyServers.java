package org.openkcm.gateway.transport;

import io.grpc.ServerServiceDefinition;
import org.openkcm.protocol.gateway.v1.CreateKeyRequest;
import org.openkcm.protocol.gateway.v1.CreateKeyResponse;
import org.openkcm.protocol.gateway.v1.DataKeyService;
import org.openkcm.protocol.gateway.v1.DecryptBatchRequest;
import org.openkcm.protocol.gateway.v1.DecryptBatchResponse;
import org.openkcm.protocol.gateway.v1.DecryptRequest;
import org.openkcm.protocol.gateway.v1.DecryptResponse;
import org.openkcm.protocol.gateway.v1.DestroyBySubjectRequest;
import org.openkcm.protocol.gateway.v1.DestroyBySubjectResponse;
import org.openkcm.protocol.gateway.v1.DestroyKeyRequest;
import org.openkcm.protocol.gateway.v1.DestroyKeyResponse;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeyResponse;
import org.openkcm.protocol.gateway.v1.GenerateDataKeysRequest;
import org.openkcm.protocol.gateway.v1.GenerateDataKeysResponse;
import org.openkcm.protocol.gateway.v1.GetKeyRequest;
import org.openkcm.protocol.gateway.v1.GetKeyResponse;

/** {@link DataKeyService} as a grpc-java service definition (wire-identical to the pekko-grpc one). */
public final class DataKeyServers {

  private DataKeyServers() {}

  public static ServerServiceDefinition definition(DataKeyService s) {
    return UnaryService.named(DataKeyService.name)
        .method("GenerateDataKey", GenerateDataKeyRequest.getDefaultInstance(),
            GenerateDataKeyResponse.getDefaultInstance(), s::generateDataKey)
        .method("Decrypt", DecryptRequest.getDefaultInstance(), DecryptResponse.getDefaultInstance(), s::decrypt)
        .method("GenerateDataKeys", GenerateDataKeysRequest.getDefaultInstance(),
            GenerateDataKeysResponse.getDefaultInstance(), s::generateDataKeys)
        .method("DecryptBatch", DecryptBatchRequest.getDefaultInstance(), DecryptBatchResponse.getDefaultInstance(),
            s::decryptBatch)
        .method("CreateKey", CreateKeyRequest.getDefaultInstance(), CreateKeyResponse.getDefaultInstance(),
            s::createKey)
        .method("GetKey", GetKeyRequest.getDefaultInstance(), GetKeyResponse.getDefaultInstance(), s::getKey)
        .method("DestroyKey", DestroyKeyRequest.getDefaultInstance(), DestroyKeyResponse.getDefaultInstance(),
            s::destroyKey)
        .method("DestroyBySubject", DestroyBySubjectRequest.getDefaultInstance(),
            DestroyBySubjectResponse.getDefaultInstance(), s::destroyBySubject)
        .build();
  }
}
