"""Running a batch of programs as one compiled function per configuration, and comparing with numpy.

All programs of a batch become the outputs of one ``gc.function`` (one C compile serves them all). A batch that
fails to build, compile or run is split in halves until the failing programs are alone, so every failure names
one program."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

import graphc as gc
from tests.fuzz.programs import Program

RTOL = {"float32": 2e-3, "float64": 1e-7}


@dataclass(frozen=True)
class Config:
    """How a batch is compiled: a backend and gc.function's rewrite options."""
    name: str
    backend: str
    mode: str = "fast_run"
    exclude: tuple[str, ...] = ()

    def function(self, inputs, outputs):
        return gc.function(inputs, outputs, backend=self.backend, mode=self.mode, exclude=list(self.exclude))


PY = Config("py", "py")
C = Config("c", "c")


def exclusion_configs() -> list[Config]:
    """The c backend without each pass of the pipeline and each node rewrite, and with no rewrite at all."""
    from graphc.rewrite import REGISTRY
    names = [e.name for e in REGISTRY.ordered()] + list(REGISTRY.node_rewrites)
    return [Config(f"c-no-{n}", "c", exclude=(n,)) for n in names] + [Config("c-none", "c", mode="none")]


@dataclass
class Failure:
    kind: str            # "mismatch", "crash", "type", "gradient"
    config: str
    source: str          # the failing program, as Python
    detail: str

    @classmethod
    def of(cls, kind: str, config: str, program: Program, detail: str) -> "Failure":
        return cls(kind, config, program.source(), detail)

    def report(self) -> str:
        return f"[{self.kind} on {self.config}] {self.detail}\n{self.source}"


@dataclass
class Tally:
    graphs: int = 0
    gradient_graphs: int = 0
    failures: list[Failure] = field(default_factory=list)
    refusals: dict[str, int] = field(default_factory=dict)

    def add(self, other: "Tally") -> None:
        self.graphs += other.graphs
        self.gradient_graphs += other.gradient_graphs
        self.failures += other.failures
        for k, v in other.refusals.items():
            self.refusals[k] = self.refusals.get(k, 0) + v

    def count(self, kind: str) -> int:
        """Programs with at least one failure of this kind."""
        return len({f.source for f in self.failures if f.kind == kind})


# --- comparing -----------------------------------------------------------------------------------------
def difference(got, want: np.ndarray, exact: bool, precision: str | None = None) -> str | None:
    """Why ``got`` is not numpy's ``want`` (None when it is): dtype, shape, values; bit-exact where ``exact``, else
    within the tolerance of ``precision`` (the least precise float type the value passed through; default its own)."""
    got = np.asarray(got)
    if got.dtype != want.dtype or got.shape != want.shape:
        return f"got {got.dtype}{got.shape}, numpy {want.dtype}{want.shape}"
    if want.dtype.kind != "f":
        bad = got != want
    else:
        nan = np.isnan(want)
        bad = nan != np.isnan(got)
        if exact:
            bad |= ~nan & ((got != want) | (np.signbit(got) != np.signbit(want)))
        else:
            inf = np.isinf(want)
            bad |= ~nan & (inf | np.isinf(got)) & (got != want)
            finite = ~nan & ~inf & np.isfinite(got)
            rtol = RTOL[precision or want.dtype.name]
            scale = max(1.0, float(np.max(np.abs(want[finite]), initial=0)))
            with np.errstate(all="ignore"):
                bad |= finite & (np.abs(got.astype("float64") - want) > rtol * (scale + np.abs(want)))
    if not np.any(bad):
        return None
    k = tuple(np.argwhere(bad)[0]) if want.ndim else ()
    return (f"{int(np.sum(bad))} of {want.size} differ{' (exact)' if exact else ''}; first at {list(k)}: "
            f"got {got[k]!r}, numpy {want[k]!r}")


# --- evaluating batches --------------------------------------------------------------------------------
def _run(config: Config, programs: list[Program]) -> list[np.ndarray]:
    inputs = [v for p in programs for v in p.inputs]
    outputs = [p.nodes[k].var for p in programs for k in p.outputs]
    f = config.function(inputs, outputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = f(*[v for p in programs for v in p.input_values])
    return got if isinstance(got, list) else [got]


def evaluate(config: Config, programs: list[Program]) -> tuple[dict[int, list[np.ndarray]], dict[int, str]]:
    """Outputs of each program (by index) on ``config``, and the error of each program that failed."""
    try:
        got = _run(config, programs)
    except Exception as exc:
        if len(programs) == 1:
            return {}, {0: f"{type(exc).__name__}: {str(exc)[:2000]}"}
        half = len(programs) // 2
        out1, err1 = evaluate(config, programs[:half])
        out2, err2 = evaluate(config, programs[half:])
        return ({**out1, **{k + half: v for k, v in out2.items()}},
                {**err1, **{k + half: v for k, v in err2.items()}})
    results, pos = {}, 0
    for i, p in enumerate(programs):
        results[i] = got[pos:pos + len(p.outputs)]
        pos += len(p.outputs)
    return results, {}


def check_values(config: Config, programs: list[Program]) -> list[Failure]:
    """Each program's outputs on ``config`` against numpy's."""
    results, errors = evaluate(config, programs)
    failures = [Failure.of("crash", config.name, programs[i], e) for i, e in errors.items()]
    for i, outs in results.items():
        p = programs[i]
        for k, got in zip(p.outputs, outs):
            node = p.nodes[k]
            why = difference(got, node.array, node.exact, node.precision)
            if why:
                failures.append(Failure.of("mismatch", config.name, p, f"{node.name}: {why}"))
    return failures


# --- gradients -----------------------------------------------------------------------------------------
def _weights(p: Program) -> list[np.ndarray]:
    rng = np.random.default_rng(p.seed)
    return [rng.uniform(0.5, 1.5, size=p.nodes[k].array.shape) for k in p.outputs]


def _cost(p: Program, outputs, weights) -> float:
    return float(sum(np.sum(o * w) for o, w in zip(outputs, weights)))


def finite_differences(p: Program, eps: float = 1e-6) -> list[np.ndarray]:
    """Central differences of the weighted sum of the outputs, with respect to each input, evaluated by numpy."""
    weights = _weights(p)
    values = [np.array(v, dtype="float64") for v in p.input_values]
    grads = []
    for v in values:
        g = np.zeros_like(v)
        for i in np.ndindex(v.shape):
            old = v[i]
            v[i] = old + eps
            hi = _cost(p, p.evaluate(values), weights)
            v[i] = old - eps
            lo = _cost(p, p.evaluate(values), weights)
            v[i] = old
            g[i] = (hi - lo) / (2 * eps)
        grads.append(g)
    return grads


def check_gradients(config: Config, programs: list[Program]) -> list[Failure]:
    """gc.grad of each smooth program's weighted output sum against finite differences, all in one function."""
    programs = [p for p in programs if p.inputs]
    grads, owners = [], []
    for p in programs:
        cost = sum(gc.sum(p.nodes[k].var * gc.constant(w)) for k, w in zip(p.outputs, _weights(p)))
        gs = gc.grad(cost, p.inputs, disconnected_inputs="ignore")
        grads += gs
        owners += [p] * len(gs)
    if not grads:
        return []
    inputs = [v for p in programs for v in p.inputs]
    try:
        f = config.function(inputs, grads)
        got = f(*[v for p in programs for v in p.input_values])
    except Exception as exc:
        if len(programs) == 1:
            return [Failure.of("crash", config.name + " gradient", programs[0], f"{type(exc).__name__}: {exc}")]
        half = len(programs) // 2
        return check_gradients(config, programs[:half]) + check_gradients(config, programs[half:])
    failures, pos = [], 0
    for p in programs:
        n = len(p.inputs)
        for g, want, coarse, var in zip(got[pos:pos + n], finite_differences(p), finite_differences(p, 2e-6),
                                        p.inputs):
            scale = max(1.0, float(np.max(np.abs(want), initial=0)))
            # where two step sizes disagree the function is too curved for finite differences (cos(1e5 * x))
            trusted = np.isclose(want, coarse, rtol=1e-3, atol=1e-5 * scale)
            bad = trusted & ~np.isclose(g, want, rtol=1e-4, atol=1e-6 * scale)
            if np.any(bad):
                k = list(np.argwhere(bad)[0]) if want.ndim else []
                failures.append(Failure.of("gradient", config.name, p, f"d/d{var.name} at {k}: got "
                                        f"{np.asarray(g)[tuple(k)]!r}, finite differences {want[tuple(k)]!r}"))
                break
        pos += n
    return failures


def check_batch(programs: list[Program], gradient_programs: list[Program], configs: list[Config]) -> Tally:
    """Every program on every config, gradients on py and c; type-rule differences found while building."""
    everything = programs + gradient_programs
    tally = Tally(graphs=len(everything), gradient_graphs=len(gradient_programs))
    for p in everything:
        tally.failures += [Failure.of("type", "build", p, e) for e in p.type_errors]
        for r in p.refusals:
            tally.refusals[r] = tally.refusals.get(r, 0) + 1
    for config in configs:
        tally.failures += check_values(config, everything)
    for config in (PY, C):
        tally.failures += check_gradients(config, gradient_programs)
    return tally
