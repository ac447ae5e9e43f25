"""The ``graphc`` command: look at a model's graph, compile it ahead of time (or check committed artifacts, in CI),
and look after the compile cache.

Exit status: 0 done; 1 failed (the model raised, the C compiler failed, ``--check`` found stale artifacts, a
picture could not be drawn); 2 usage error (bad arguments, no such target). Errors are one line on stderr;
``--verbose`` adds detail (tracebacks, timings, full diffs)."""
from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
TARGET_HELP = "the model: path/to/model.py:build or package.module:build (a function returning a gc.function)"
DIFF_PREVIEW_LINES = 12


class UsageError(Exception):
    """The command line asks for something that cannot be done (exit status 2)."""


class Failed(Exception):
    """The command ran and the answer is no, already explained on stderr (exit status 1)."""


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from graphc.render import RenderError
    from graphc.target import ModelError, TargetError
    from graphc.toolchain.cache import CacheError
    try:
        return args.run(args)
    except (UsageError, TargetError) as exc:
        return _error(args, str(exc), EXIT_USAGE)
    except Failed:
        return EXIT_FAILED
    except (RenderError, CacheError) as exc:
        return _error(args, str(exc), EXIT_FAILED)
    except ModelError as exc:
        if args.verbose:
            sys.stderr.write(exc.detail)
        return _error(args, str(exc), EXIT_FAILED, traceback_hint=not args.verbose)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `graphc show ... | head`: the reader has gone; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except Exception as exc:  # unexpected: a limitation of graphc (or a bug), shown as one line unless --verbose
        if args.verbose:
            traceback.print_exc()
        return _error(args, f"{type(exc).__name__}: {exc}", EXIT_FAILED, traceback_hint=not args.verbose)


def _error(args, text: str, code: int, traceback_hint: bool = False) -> int:
    first = (text.strip().splitlines() or ["unknown error"])[0]
    print(f"graphc {args.command}: error: {first}{' (--verbose shows the traceback)' if traceback_hint else ''}",
          file=sys.stderr)
    return code


# --- graphc show ---------------------------------------------------------------------------------------------------
def cmd_show(args) -> int:
    """Print the graph (or the optimizer's report, or the memory plan) of a model."""
    import graphc
    from graphc import target
    if (args.report or args.memory) and args.format != "text":
        raise UsageError("--report and --memory print text; leave out --format")
    f = _load(args)
    if args.report:
        data = graphc.optimization_report(f, file="str")
    elif args.memory:
        data = _memory_plan(f, args.memory)
    else:
        view = f if args.stage == "optimized" else target.raw(f)
        data = graphc.dprint(view, file="str") if args.format == "text" else graphc.to_dot(view)
        if args.format in ("svg", "png"):
            from graphc.render import render
            data = render(data, args.format)
    _emit(data, args.output, args.format)
    return EXIT_OK


def _memory_plan(f, text: str) -> str:
    import graphc
    shapes = _parse_shapes(text, f.inputs)
    try:
        return graphc.memory_plan(f, *shapes, file="str") + "\n"
    except (ValueError, IndexError) as exc:  # the shapes do not fit together
        raise UsageError(f"--memory {text}: {exc}") from exc


def _parse_shapes(text: str, inputs) -> list[tuple[int, ...]]:
    """``128x64,128``: one shape per explicit input, in order; dims joined by x, ``()`` for a scalar."""
    names = [v.name or f"#{i}" for i, v in enumerate(inputs)]
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != len(names):
        raise UsageError(f"--memory {text!r} gives {len(parts)} shape(s); the function has {len(names)} "
                         f"input(s) ({', '.join(names)}); write e.g. 128x64,128 (() for a scalar)")
    shapes = []
    for part, name, var in zip(parts, names, inputs):
        if not re.fullmatch(r"\(\)|\d+(x\d+)*", part):
            raise UsageError(f"--memory: {part!r} (input {name}) is not a shape like 128x64 or ()")
        shape = () if part == "()" else tuple(int(d) for d in part.split("x"))
        if len(shape) != var.ndim or not var.type.is_compatible(shape):
            raise UsageError(f"--memory: input {name} has type {var.type}, not shape {part}")
        shapes.append(shape)
    return shapes


def _emit(data: str | bytes, output: str | None, fmt: str) -> None:
    if output:
        Path(output).write_bytes(data if isinstance(data, bytes) else data.encode())
        return
    if isinstance(data, bytes):
        if sys.stdout.isatty():
            raise UsageError(f"{fmt} is binary: write it to a file with -o graph.{fmt}")
        sys.stdout.buffer.write(data)
    else:
        sys.stdout.write(data)
    sys.stdout.flush()


# --- graphc compile ------------------------------------------------------------------------------------------------
def cmd_compile(args) -> int:
    """Write (or --check) the ahead-of-time artifacts of a model."""
    from graphc import aot, target
    from graphc.config import config
    from graphc.toolchain.compiler import portable_march
    if args.backend == "cuda":
        from graphc.toolchain.nvcc import CudaUnavailable, nvcc_toolchain
        try:
            nvcc_toolchain()
        except CudaUnavailable as exc:
            raise UsageError(f"--backend cuda: {exc}") from None
    name = args.name or aot.c_identifier(target.default_name(args.target)) or "model"
    if not re.fullmatch(r"[A-Za-z_]\w*", name, re.ASCII):
        raise UsageError(f"--name {name!r}: the artifacts' name must be a C identifier (letters, digits, _)")
    march = portable_march() if args.march is None else "" if args.march == "none" else args.march
    f = _load(args)
    if args.bake_weights:
        f = target.bake_weights(f)
    artifacts = aot.artifacts(f, name, march, args.bake_weights, args.backend)
    if args.check:
        return _check(artifacts, Path(args.check), args)
    out = Path(args.out)
    artifacts.write(out)
    _build(artifacts, out, args)
    print(f"wrote {out}/: {', '.join([*artifacts.files, artifacts.library])}")
    target_text = (f"CUDA targets sm_{', sm_'.join(config.cuda_arch.split(','))}" if args.backend == "cuda"
                   else f"CPU target {march or 'compiler default'}")
    libraries = aot.runtime_libraries(args.backend, artifacts.files[artifacts.source])
    print(f"entry point graphc_run in {artifacts.library} (see {name}.h); {target_text}; "
          f"links {', '.join(f'lib{lib}' if args.backend == 'cuda' else lib for lib in libraries)}")
    return EXIT_OK


def _build(artifacts, out: Path, args) -> None:
    from graphc.toolchain.compiler import CompileError
    start = time.perf_counter()
    try:
        artifacts.build_library(out)
    except CompileError as exc:
        fd, log = tempfile.mkstemp(prefix=f"graphc-{artifacts.name}-", suffix=".log")
        with os.fdopen(fd, "w") as handle:
            handle.write(str(exc) + "\n")
        print(f"graphc compile: error: the compiler failed on {artifacts.source} (a graphc bug; please report "
              f"it); compiler log: {log}", file=sys.stderr)
        raise Failed from exc
    tc = artifacts.toolchain
    words = [tc.nvcc, *tc.flags] if artifacts.extension == "cu" else [tc.cc, *tc.cflags, *tc.ldflags]
    _verbose(args, f"compiled {artifacts.library} in {time.perf_counter() - start:.2f} s: {' '.join(words)}")


def _check(artifacts, committed: Path, args) -> int:
    """Exit 0 if ``committed`` holds exactly what compiling now writes (and it still compiles), else summarize."""
    if not committed.is_dir():
        raise UsageError(f"--check {committed}: no such directory (create it with --out {committed})")
    with tempfile.TemporaryDirectory(prefix="graphc-check-") as tmp:
        artifacts.write(Path(tmp))
        _build(artifacts, Path(tmp), args)
    changes = artifacts.changes(committed)
    if not changes:
        print(f"{committed}/ is up to date ({len(artifacts.files)} files; the model still compiles)")
        return EXIT_OK
    print(f"graphc compile: {len(changes)} of {len(artifacts.files)} files in {committed}/ differ from what graphc "
          f"compiles now:", file=sys.stderr)
    for change in changes:
        counts = f"+{change.added} -{change.removed} lines" if change.status == "changed" else ""
        print(f"  {change.status:<8} {change.file:<32} {counts}".rstrip(), file=sys.stderr)
    for change in changes:
        lines = change.diff.splitlines(True)
        shown = lines if args.verbose else lines[:DIFF_PREVIEW_LINES]
        sys.stderr.write("".join(shown))
        if len(shown) < len(lines):
            print(f"  ... {len(lines) - len(shown)} more diff lines (--verbose shows all)", file=sys.stderr)
    print(f"graphc compile: error: the artifacts in {committed}/ are stale; update them with: "
          f"{_update_command(args)}", file=sys.stderr)
    return EXIT_FAILED


def _update_command(args) -> str:
    words = ["graphc", "compile", args.target, "--out", args.check]
    words += ["--backend", args.backend] if args.backend != "c" else []
    words += ["--name", args.name] if args.name else []
    words += ["--march", args.march] if args.march is not None else []
    words += ["--bake-weights"] if args.bake_weights else []
    return " ".join(words)


# --- graphc cache --------------------------------------------------------------------------------------------------
def cmd_cache_info(args) -> int:
    """Where the compile cache is, how many entries, how many bytes."""
    from graphc.toolchain import maintenance
    root = _cache_root()
    usage = maintenance.usage(root)
    print(f"location   {root}")
    print(f"entries    {usage.entries} ({_bytes(usage.bytes)})")
    if usage.entries:
        print(f"last used  {_age(usage.newest)} (most recent), {_age(usage.oldest)} (least recent)")
    if usage.leftovers:
        print(f"leftovers  {usage.leftovers} director{'y' if usage.leftovers == 1 else 'ies'} from interrupted "
              f"builds (graphc cache clear removes them)")
    return EXIT_OK


def cmd_cache_clear(args) -> int:
    """Remove every entry nobody is building right now."""
    return _removal_report(args, None)


def cmd_cache_prune(args) -> int:
    """Remove entries not used for DAYS days."""
    if args.older_than < 0:
        raise UsageError(f"--older-than {args.older_than}: the number of days cannot be negative")
    return _removal_report(args, args.older_than * 86400)


def _removal_report(args, older_than_s: float | None) -> int:
    from graphc.toolchain import maintenance
    root = _cache_root()
    removal = maintenance.remove(root, older_than_s)
    busy = f"; {removal.busy} being built by another process, kept" if removal.busy else ""
    print(f"removed {removal.removed} entr{'y' if removal.removed == 1 else 'ies'} ({_bytes(removal.bytes)}) "
          f"from {root}{busy}")
    return EXIT_OK


def _cache_root() -> Path:
    from graphc.toolchain.cache import cache_root
    return cache_root()


def _bytes(n: float) -> str:
    units, k = ("bytes", "kB", "MB", "GB"), 0
    while n >= 1000 and k < len(units) - 1:
        n, k = n / 1000, k + 1
    return f"{n:.0f} bytes" if k == 0 else f"{n:.1f} {units[k]}"


def _age(when: float) -> str:
    seconds = max(time.time() - when, 0.0)
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit} ago"
    return "just now"


# --- shared by the subcommands -------------------------------------------------------------------------------------
def _load(args):
    from graphc.target import load
    start = time.perf_counter()
    f = load(args.target)
    _verbose(args, f"loaded {args.target} in {time.perf_counter() - start:.2f} s: {len(f.inputs)} input(s), "
                   f"{len(f.shared_inputs)} shared, {f.n_outputs} output(s), {len(f.updates)} update(s)")
    return f


def _verbose(args, text: str) -> None:
    if args.verbose:
        print(f"graphc {args.command}: {text}", file=sys.stderr)


def _parser() -> argparse.ArgumentParser:
    from graphc import __version__
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-v", "--verbose", action="store_true", help="more detail: timings, tracebacks, full diffs")
    parser = argparse.ArgumentParser(prog="graphc", description="Look at a model's graph, compile it ahead of time "
                                     "(or check committed artifacts, in CI), and look after the compile cache.",
                                     epilog="exit status: 0 done, 1 failed, 2 usage error. "
                                            "Run graphc COMMAND --help for each command's options.")
    parser.add_argument("--version", action="version", version=f"graphc {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    show = commands.add_parser("show", parents=[common], help="print a model's graph, pass report or memory plan",
                               description=cmd_show.__doc__)
    show.add_argument("target", help=TARGET_HELP)
    show.add_argument("--format", choices=("text", "dot", "svg", "png"), default="text",
                      help="text (default), Graphviz DOT source, or a picture drawn by Graphviz's dot")
    show.add_argument("--stage", choices=("raw", "optimized"), default="optimized",
                      help="the graph as written (raw) or as compiled (optimized, the default)")
    what = show.add_mutually_exclusive_group()
    what.add_argument("--report", action="store_true", help="print the optimizer's pass report instead")
    what.add_argument("--memory", metavar="SHAPES",
                      help="print the memory plan for these input shapes instead, e.g. 128x64,128 (() for a scalar)")
    show.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    show.set_defaults(run=cmd_show)

    comp = commands.add_parser("compile", parents=[common], help="compile a model ahead of time, or --check artifacts",
                               description=cmd_compile.__doc__ + " Shared variables are arguments of the entry point "
                               "unless --bake-weights. The output is deterministic: commit it and use --check in CI.")
    comp.add_argument("target", help=TARGET_HELP)
    where = comp.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="DIR", help="write source, header, manifest and library to DIR")
    where.add_argument("--check", metavar="DIR",
                       help="compile, then exit 1 with a diff summary if the artifacts in DIR are stale")
    comp.add_argument("--backend", choices=("c", "cuda"), default="c", help="code generator (default: c)")
    comp.add_argument("--march", metavar="ARCH",
                      help="CPU target for gcc's -march (default: a portable baseline, x86-64-v2 on x86-64; "
                           "'native' for this machine only, 'none' for the compiler's default)")
    comp.add_argument("--bake-weights", action="store_true",
                      help="embed the shared variables' current values instead of taking them as arguments")
    comp.add_argument("--name", help="the artifacts' name: NAME.c, NAME.h, libNAME.so (default: the model file's)")
    comp.set_defaults(run=cmd_compile)

    cache = commands.add_parser("cache", help="look after the compile cache",
                                description="The compile cache ($GRAPHC_CACHE_DIR, else ~/.cache/graphc): its size, "
                                "and removing entries, which is safe while other processes use the cache.")
    actions = cache.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("info", parents=[common], help=cmd_cache_info.__doc__).set_defaults(run=cmd_cache_info)
    actions.add_parser("clear", parents=[common], help=cmd_cache_clear.__doc__).set_defaults(run=cmd_cache_clear)
    prune = actions.add_parser("prune", parents=[common], help=cmd_cache_prune.__doc__)
    prune.add_argument("--older-than", metavar="DAYS", type=float, required=True,
                       help="remove entries last used more than DAYS days ago (fractions allowed)")
    prune.set_defaults(run=cmd_cache_prune)
    return parser
