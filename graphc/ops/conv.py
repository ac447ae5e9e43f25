"""2-d convolution (NCHW images, KCRS filters; stride, zero padding, dilation) and its two gradients.

Like the deep-learning libraries', ``conv2d`` is a cross-correlation: out[n, k, i, j] = sum over c, r, s of
x[n, c, i*sh - ph + r*dh, j*sw - pw + s*dw] * w[k, c, r, s], with zeros outside x. The C backend lowers all three
ops to im2col (or col2im) and one BLAS gemm per image; ``perform`` is the numpy reference, written the same way
(one slice of the padded input per filter tap) so it stays readable."""
from __future__ import annotations

import numpy as np

from graphc.graph.basic import Apply, Constant, Variable
from graphc.graph.op import Op
from graphc.graph.type import TensorType
from graphc.ops.convert import as_tensor
from graphc.ops.shape import shape_i

FLOATS = ("float32", "float64")


def _pair(value, what: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, (int, np.integer)) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, (int, np.integer)) for v in pair):
        raise TypeError(f"conv2d {what} must be an int or a pair of ints, got {value!r}")
    return int(pair[0]), int(pair[1])


def out_size(size, kernel, stride: int, pad: int, dilation: int):
    """Output length along one axis (for ints, or int64 scalar variables)."""
    return (size + (2 * pad - dilation * (kernel - 1) - 1)) // stride + 1


class _Conv(Op):
    """What the three ops share: the geometry, and the numpy loop over filter taps."""

    __props__ = ("stride", "padding", "dilation")

    def __init__(self, stride: tuple[int, int], padding: tuple[int, int], dilation: tuple[int, int]):
        if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
            raise ValueError(f"conv2d needs stride and dilation >= 1 and padding >= 0, got stride={stride}, "
                             f"padding={padding}, dilation={dilation}")
        self.stride, self.padding, self.dilation = tuple(stride), tuple(padding), tuple(dilation)

    def _taps(self, kernel: tuple[int, int], out: tuple[int, int]):
        """For each filter tap (r, s): the slices of the padded input it meets over the whole output."""
        (sh, sw), (dh, dw) = self.stride, self.dilation
        for r in range(kernel[0]):
            for s in range(kernel[1]):
                yield r, s, (slice(None), slice(None), slice(r * dh, r * dh + sh * (out[0] - 1) + 1, sh),
                             slice(s * dw, s * dw + sw * (out[1] - 1) + 1, sw))

    def _out(self, hw: tuple[int, int], kernel: tuple[int, int]) -> tuple[int, int]:
        out = tuple(out_size(hw[a], kernel[a], self.stride[a], self.padding[a], self.dilation[a]) for a in (0, 1))
        if min(out) < 1:
            raise ValueError(f"conv2d: a {kernel} filter (dilation {self.dilation}) does not fit in a {hw} input "
                             f"with padding {self.padding}")
        return out

    def _expect(self, g: np.ndarray, hw, kernel) -> None:
        """The output gradient must have the shape the forward convolution had."""
        if tuple(g.shape[2:]) != self._out(tuple(hw), tuple(kernel)):
            raise ValueError(f"{type(self).__name__}: a gradient of spatial shape {g.shape[2:]} does not match a "
                             f"{tuple(kernel)} filter over a {tuple(hw)} input")

    def _pad(self, x: np.ndarray) -> np.ndarray:
        (ph, pw) = self.padding
        return np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))

    def _static_out(self, hw, kernel) -> tuple:
        return tuple(None if hw[a] is None or kernel[a] is None else
                     out_size(hw[a], kernel[a], self.stride[a], self.padding[a], self.dilation[a]) for a in (0, 1))

    def grad(self, inputs, outputs, output_grads):
        raise NotImplementedError(f"{type(self).__name__} has no gradient: second derivatives of conv2d are not "
                                  f"implemented")


def _check(x: Variable, w: Variable, what: str) -> None:
    if x.ndim != 4 or w.ndim != 4:
        raise TypeError(f"{what} takes 4-d operands (NCHW images, KCRS filters), got {x.type} and {w.type}")
    if x.dtype != w.dtype or x.dtype not in FLOATS:
        raise TypeError(f"{what} takes float32 or float64 operands of one dtype, got {x.dtype} and {w.dtype}")


class Conv2d(_Conv):
    """out (N, K, OH, OW) = conv2d(x (N, C, H, W), w (K, C, R, S))."""

    def make_node(self, x, w):
        x, w = as_tensor(x), as_tensor(w)
        _check(x, w, "conv2d")
        (n, c, h, wd), (k, c2, r, s) = x.type.shape, w.type.shape
        if c is not None and c2 is not None and c != c2:
            raise ValueError(f"conv2d: the input has {c} channels, the filters {c2}")
        oh, ow = self._static_out((h, wd), (r, s))
        if (oh is not None and oh < 1) or (ow is not None and ow < 1):
            raise ValueError(f"conv2d: a {(r, s)} filter does not fit in a {(h, wd)} input here")
        return Apply(self, [x, w], [Variable(TensorType(x.dtype, (n, k, oh, ow)))])

    def perform(self, node, inputs):
        x, w = inputs
        if x.shape[1] != w.shape[1]:
            raise ValueError(f"conv2d: the input has {x.shape[1]} channels, the filters {w.shape[1]}")
        out_hw = self._out(x.shape[2:], w.shape[2:])
        xp = self._pad(x)
        out = np.zeros((x.shape[0], w.shape[0]) + out_hw, dtype=x.dtype)
        for r, s, window in self._taps(w.shape[2:], out_hw):
            out += np.einsum("ncij,kc->nkij", xp[window], w[:, :, r, s])
        return [out]

    def infer_shape(self, node, input_shapes):
        (n, _, h, wd), (k, _, r, s) = input_shapes
        return [(n, k, out_size(h, r, self.stride[0], self.padding[0], self.dilation[0]),
                 out_size(wd, s, self.stride[1], self.padding[1], self.dilation[1]))]

    def grad(self, inputs, outputs, output_grads):
        x, w = inputs
        g = output_grads[0]
        geometry = (self.stride, self.padding, self.dilation)
        return [Conv2dGradInput(*geometry)(g, w, shape_i(x, 2), shape_i(x, 3)),
                Conv2dGradWeight(*geometry)(x, g, shape_i(w, 2), shape_i(w, 3))]


class Conv2dGradInput(_Conv):
    """The gradient of conv2d with respect to its input: dx (N, C, H, W) from g (N, K, OH, OW) and w; H and W are
    inputs (int64 scalars), since a strided convolution may have ignored the input's last rows."""

    def make_node(self, g, w, h, wd):
        g, w = as_tensor(g), as_tensor(w)
        _check(g, w, "conv2d's input gradient")
        h, wd = (as_tensor(v, "int64") for v in (h, wd))
        static = tuple(v.data.item() if isinstance(v, Constant) else None for v in (h, wd))
        return Apply(self, [g, w, h, wd], [Variable(TensorType(g.dtype, (g.type.shape[0], w.type.shape[1]) + static))])

    def perform(self, node, inputs):
        g, w, h, wd = inputs
        self._expect(g, (int(h), int(wd)), w.shape[2:])
        (ph, pw) = self.padding
        dxp = np.zeros((g.shape[0], w.shape[1], int(h) + 2 * ph, int(wd) + 2 * pw), dtype=g.dtype)
        for r, s, window in self._taps(w.shape[2:], g.shape[2:]):
            dxp[window] += np.einsum("nkij,kc->ncij", g, w[:, :, r, s])
        return [dxp[:, :, ph:ph + int(h), pw:pw + int(wd)]]

    def infer_shape(self, node, input_shapes):
        (n, _, _, _), (_, c, _, _), _, _ = input_shapes
        return [(n, c, node.inputs[2], node.inputs[3])]


class Conv2dGradWeight(_Conv):
    """The gradient of conv2d with respect to its filters: dw (K, C, R, S) from x and g; R and S are inputs."""

    def make_node(self, x, g, r, s):
        x, g = as_tensor(x), as_tensor(g)
        _check(x, g, "conv2d's filter gradient")
        r, s = (as_tensor(v, "int64") for v in (r, s))
        static = tuple(v.data.item() if isinstance(v, Constant) else None for v in (r, s))
        return Apply(self, [x, g, r, s], [Variable(TensorType(x.dtype, (g.type.shape[1], x.type.shape[1]) + static))])

    def perform(self, node, inputs):
        x, g, r_, s_ = inputs
        self._expect(g, x.shape[2:], (int(r_), int(s_)))
        xp = self._pad(x)
        dw = np.zeros((g.shape[1], x.shape[1], int(r_), int(s_)), dtype=x.dtype)
        for r, s, window in self._taps((int(r_), int(s_)), g.shape[2:]):
            dw[:, :, r, s] = np.einsum("nkij,ncij->kc", g, xp[window])
        return [dw]

    def infer_shape(self, node, input_shapes):
        (_, c, _, _), (_, k, _, _), _, _ = input_shapes
        return [(k, c, node.inputs[2], node.inputs[3])]


def conv2d(x, w, stride=1, padding=0, dilation=1) -> Variable:
    """2-d cross-correlation of NCHW images ``x`` with KCRS filters ``w`` (as torch.nn.functional.conv2d without
    bias); ``stride``, ``padding`` (zeros) and ``dilation`` are ints or (height, width) pairs."""
    return Conv2d(_pair(stride, "stride"), _pair(padding, "padding"), _pair(dilation, "dilation"))(x, w)
