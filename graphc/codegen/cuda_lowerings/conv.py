"""CUDA placement of conv2d and its gradients: the C lowerings, calling the device twins in
csrc/graphc_cuda_conv.h (im2col/col2im kernels and cuBLAS); the gradients' sizes are read on the host."""
from __future__ import annotations

from graphc.codegen.cuda import register
from graphc.codegen.lowerings import conv as cc
from graphc.ops.conv import Conv2d, Conv2dGradInput, Conv2dGradWeight

register(Conv2d)(cc.lower_conv2d)
register(Conv2dGradInput, host_from=2)(cc.lower_conv2d_grad_input)
register(Conv2dGradWeight, host_from=2)(cc.lower_conv2d_grad_weight)
