"""The gRPC service of `marlax serve`: `policy.proto` and the modules grpcio-tools generated
from it (`policy_pb2`, `policy_pb2_grpc`; regenerate with the command in the .proto)."""
