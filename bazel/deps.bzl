"""The external repositories pcusage's BUILD files need, declared once for pcusage's own WORKSPACE and for a consumer's.

A consumer's WORKSPACE (docs/development.md, "Consuming pcusage from Bazel"):

    local_repository(name = "pcusage", path = "/path/to/pcusage")
    load("@pcusage//bazel:deps.bzl", "pcusage_dependencies")
    pcusage_dependencies()

Everything is local: Debian's libraries and tools under /usr, and the googleapis protos bazel/setup unpacks into
pcusage's third_party/googleapis. A repository the WORKSPACE already declared under the same name is left alone.
"""

def _pcusage_root(repository_ctx):
    return repository_ctx.path(Label("//:WORKSPACE")).dirname

def _pcusage_directory_impl(repository_ctx):
    source = repository_ctx.path("%s/%s" % (_pcusage_root(repository_ctx), repository_ctx.attr.directory))
    if not source.exists:
        fail("%s is missing: run bazel/setup in %s" % (source, _pcusage_root(repository_ctx)))
    for child in source.readdir():
        if child.basename not in ("BUILD", "BUILD.bazel"):
            repository_ctx.symlink(child, child.basename)
    if repository_ctx.attr.build_file:
        repository_ctx.symlink(repository_ctx.attr.build_file, "BUILD.bazel")
    elif source.get_child("BUILD").exists:
        repository_ctx.symlink(source.get_child("BUILD"), "BUILD.bazel")
    if not source.get_child("WORKSPACE").exists:
        repository_ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % repository_ctx.name)

# A directory of pcusage's tree as a repository of its own, wherever pcusage sits (the main repository or an
# external one): local_repository takes only a path, which a macro called from a consumer's WORKSPACE cannot know.
_pcusage_directory = repository_rule(
    implementation = _pcusage_directory_impl,
    attrs = {
        "directory": attr.string(mandatory = True, doc = "relative to pcusage's root"),
        "build_file": attr.label(allow_single_file = True, doc = "replaces the directory's own BUILD file"),
    },
    local = True,
)

def _system_protobuf_impl(repository_ctx):
    for proto in repository_ctx.attr.protos:
        source = repository_ctx.path("%s/%s" % (repository_ctx.attr.include_dir, proto))
        if not source.exists:
            fail("%s is missing: install libprotobuf-dev (bazel/setup)" % source)
        repository_ctx.symlink(source, proto)
    if not repository_ctx.path(repository_ctx.attr.protoc).exists:
        fail("%s is missing: install protobuf-compiler (bazel/setup)" % repository_ctx.attr.protoc)
    repository_ctx.symlink(repository_ctx.attr.protoc, "protoc")
    repository_ctx.symlink(repository_ctx.attr.build_file, "BUILD.bazel")
    repository_ctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % repository_ctx.name)

# @com_google_protobuf as Bazel's native proto_library expects it (:protoc, the well-known types' proto_library
# targets), made of Debian's protoc and the .proto files of libprotobuf-dev rather than protobuf's sources.
_system_protobuf = repository_rule(
    implementation = _system_protobuf_impl,
    attrs = {
        "build_file": attr.label(allow_single_file = True, mandatory = True),
        "include_dir": attr.string(default = "/usr/include"),
        "protoc": attr.string(default = "/usr/bin/protoc"),
        "protos": attr.string_list(mandatory = True),
    },
    local = True,
)

_WELL_KNOWN_PROTOS = [
    "google/protobuf/any.proto",
    "google/protobuf/api.proto",
    "google/protobuf/compiler/plugin.proto",
    "google/protobuf/descriptor.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/source_context.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
    "google/protobuf/type.proto",
    "google/protobuf/wrappers.proto",
]

def pcusage_dependencies():
    """Declares every repository that building pcusage's targets needs (@pcusage//client_stubs/cpp:..., the server).

    @rules_cc (a shim of the native C++ rules), @rules_java (Debian's), @remote_coverage_tools (a stub every cc_test
    names), @system (Debian's C++ libraries), @googleapis (google/type, google/rpc), @grpcurl (the binary and the
    health service's proto) and @com_google_protobuf (Debian's protoc and well-known types, for proto_library).
    Names already declared are kept, so a WORKSPACE can supply its own.
    """
    existing = native.existing_rules()

    if "rules_cc" not in existing:
        _pcusage_directory(name = "rules_cc", directory = "bazel/rules_cc")

    if "rules_java" not in existing:
        native.local_repository(name = "rules_java", path = "/usr/share/bazel/rules/java")

    if "remote_coverage_tools" not in existing:
        _pcusage_directory(name = "remote_coverage_tools", directory = "bazel/remote_coverage_tools")

    # Headers are on the compiler's default include path, so each target only adds link options.
    if "system" not in existing:
        native.new_local_repository(
            name = "system",
            build_file = str(Label("//bazel:system.BUILD")),
            path = "/usr",
        )

    if "googleapis" not in existing:
        _pcusage_directory(
            name = "googleapis",
            build_file = Label("//bazel:googleapis.BUILD"),
            directory = "third_party/googleapis",
        )

    # grpcurl and grpc/health/v1/health.proto, which bazel/setup fetches: the server's reflection describes the
    # health service from that proto, and pcusage's own grpcurl test runs the binary. Fetched only when used.
    if "grpcurl" not in existing:
        _pcusage_directory(
            name = "grpcurl",
            build_file = Label("//bazel:grpcurl.BUILD"),
            directory = "third_party/grpcurl",
        )

    if "com_google_protobuf" not in existing:
        _system_protobuf(
            name = "com_google_protobuf",
            build_file = Label("//bazel:protobuf.BUILD"),
            protos = _WELL_KNOWN_PROTOS,
        )
