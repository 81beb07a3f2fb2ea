"""C++ code generation for .proto files with Debian's protoc and grpc_cpp_plugin (no rules_proto, nothing fetched)."""

_PROTOC = "/usr/bin/protoc"
_GRPC_CPP_PLUGIN = "/usr/bin/grpc_cpp_plugin"

def pcusage_cc_proto_library(name, protos, repo = "", imports = [], deps = [], grpc = False, visibility = None):
    """Generates and compiles C++ for `protos`.

    Args:
      name: the cc_library to create; generated headers are included by import path
        (e.g. "google/type/decimal.pb.h").
      protos: import paths of the .proto files, e.g. "partnercenter/usage/v1/usage_records.proto". Without `repo`
        they are files of this package; with it, files at the root of that repository.
      repo: the external repository holding `protos`, e.g. "@googleapis".
      imports: labels of .proto files that `protos` import (other than protobuf's well-known types, which Debian's
        protoc finds itself); those of @googleapis are found by their import path.
      deps: the cc libraries generated for those imports.
      grpc: also generate gRPC service code.
      visibility: of the cc_library.
    """
    # Paths in the execution root: a package of an external repository (pcusage depended on by another workspace)
    # sits under external/<repository>/, and so do its outputs under $(GENDIR).
    this_repository = native.repository_name().lstrip("@")
    package = native.package_name()
    if this_repository:
        package = "external/%s/%s" % (this_repository, package) if package else "external/" + this_repository
    if repo:
        srcs = ["%s//:%s" % (repo, p) for p in protos]
        proto_root = "external/%s" % repo.lstrip("@")
    else:
        srcs = protos
        proto_root = package

    outs = []
    for proto in protos:
        stem = proto[:-len(".proto")]
        outs += [stem + ".pb.h", stem + ".pb.cc"]
        if grpc:
            outs += [stem + ".grpc.pb.h", stem + ".grpc.pb.cc"]

    flags = ["-I" + proto_root]
    if repo != "@googleapis" and [i for i in imports if i.startswith("@googleapis//")]:
        flags.append("-Iexternal/googleapis")
    flags.append("--cpp_out=$(GENDIR)/" + package)
    if grpc:
        flags += [
            "--plugin=protoc-gen-grpc=" + _GRPC_CPP_PLUGIN,
            "--grpc_out=$(GENDIR)/" + package,
        ]
    native.genrule(
        name = name + "_codegen",
        srcs = srcs + imports,
        outs = outs,
        cmd = " ".join([_PROTOC] + flags + ["%s/%s" % (proto_root, p) for p in protos]),
        message = "protoc " + " ".join(protos),
    )

    system_deps = ["@system//:protobuf"]
    if grpc:
        system_deps.append("@system//:grpc++")
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = [o for o in outs if o.endswith(".h")],
        includes = ["."],
        deps = deps + system_deps,
        visibility = visibility,
    )
