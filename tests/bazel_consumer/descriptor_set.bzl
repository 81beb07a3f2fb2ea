"""A consumer's own rule over pcusage's proto_library targets, as any language's code generator would use them."""

def _descriptor_set_impl(ctx):
    protos = [dep[ProtoInfo] for dep in ctx.attr.deps]
    protoc_out = ctx.actions.declare_file(ctx.label.name + ".protoc.bin")
    bazel_out = ctx.actions.declare_file(ctx.label.name + ".bazel.bin")
    transitive_sources = depset(transitive = [p.transitive_sources for p in protos])
    bazel_sets = depset(transitive = [p.transitive_descriptor_sets for p in protos])

    # protoc run the way a language rule runs it: every import root ProtoInfo names, the direct sources as files.
    arguments = ctx.actions.args()
    arguments.add_all(depset(transitive = [p.transitive_proto_path for p in protos]), format_each = "--proto_path=%s")
    arguments.add("--include_imports")
    arguments.add(protoc_out, format = "--descriptor_set_out=%s")
    arguments.add_all(depset(transitive = [depset(p.direct_sources) for p in protos]))
    ctx.actions.run(
        executable = ctx.executable._protoc,
        arguments = [arguments],
        inputs = transitive_sources,
        outputs = [protoc_out],
        mnemonic = "ConsumerProtoc",
    )

    # The descriptor sets Bazel's own proto_library actions wrote; FileDescriptorSets concatenate into one.
    ctx.actions.run_shell(
        command = "cat \"$@\" > " + bazel_out.path,
        arguments = [f.path for f in bazel_sets.to_list()],
        inputs = bazel_sets,
        outputs = [bazel_out],
        mnemonic = "ConcatDescriptorSets",
    )
    return [DefaultInfo(files = depset([protoc_out, bazel_out]), runfiles = ctx.runfiles([protoc_out, bazel_out]))]

# Writes NAME.protoc.bin (protoc with --include_imports over the deps' ProtoInfo) and NAME.bazel.bin (the deps'
# transitive descriptor sets as Bazel built them).
descriptor_set = rule(
    implementation = _descriptor_set_impl,
    attrs = {
        "deps": attr.label_list(providers = [ProtoInfo], mandatory = True),
        "_protoc": attr.label(
            default = "@com_google_protobuf//:protoc",
            executable = True,
            cfg = "exec",
            allow_single_file = True,
        ),
    },
)
